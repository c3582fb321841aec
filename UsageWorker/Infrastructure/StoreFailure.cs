using System.Net.Sockets;
using Npgsql;

namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>What a failed write says about the batch: retry it as is, or find the entry PostgreSQL refuses.</summary>
internal enum StoreFailureKind
{
    /// <summary>The database is unreachable, restarting, overloaded or a transaction lost a race: retry the same batch.</summary>
    Transient,

    /// <summary>PostgreSQL refused a value (SQLSTATE class 22 or 23): some entry in the batch is bad.</summary>
    BadData,

    /// <summary>Anything else (a bug, an unexpected schema): retried a few times, then treated as bad data.</summary>
    Unknown,
}

internal static class StoreFailure
{
    public static StoreFailureKind Classify(Exception exception) => exception switch
    {
        PostgresException { SqlState: var state } when state.StartsWith("22", StringComparison.Ordinal) || state.StartsWith("23", StringComparison.Ordinal) => StoreFailureKind.BadData,
        PostgresException { SqlState: var state } when IsTransientClass(state) => StoreFailureKind.Transient,
        NpgsqlException { IsTransient: true } => StoreFailureKind.Transient,
        NpgsqlException { InnerException: IOException or SocketException or TimeoutException } => StoreFailureKind.Transient,
        NpgsqlException and not PostgresException => StoreFailureKind.Transient,
        IOException or SocketException or TimeoutException => StoreFailureKind.Transient,
        // Schema missing (42P01 after someone dropped a table) or similar: not the events' fault, keep them.
        PostgresException { SqlState: var state } when state.StartsWith("42", StringComparison.Ordinal) => StoreFailureKind.Transient,
        _ => StoreFailureKind.Unknown,
    };

    // 08 connection, 40 rollback (deadlock, serialization), 53 resources, 55 lock not available, 57 shutdown, 58 system.
    private static bool IsTransientClass(string state) => state.Length >= 2 && state[..2] is "08" or "40" or "53" or "55" or "57" or "58";
}
