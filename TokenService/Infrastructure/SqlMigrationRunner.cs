using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>One versioned schema change of a component. Applied once, in version order, in its own transaction.</summary>
public sealed record SqlMigration(int Version, string Name, string Sql);

/// <summary>
/// Applies a component's SQL migrations at start-up, safely with several replicas starting at once.
/// </summary>
/// <remarks>
/// <para>Self-contained on purpose (only Npgsql): UsageWorker can copy or share it with its own component name.</para>
/// <para>
/// Table <c>schema_migrations(component, version, name, checksum, applied_at)</c> records what was applied. Every runner,
/// whatever its component, takes the same session-level <c>pg_advisory_lock</c> first, so concurrent replicas (and
/// components) apply one after the other; the second finds the versions recorded and does nothing. Each migration runs
/// in a transaction together with its bookkeeping row, so a crash leaves it either applied and recorded or neither.
/// A migration that was edited after being applied (checksum mismatch) stops start-up: the database would no longer
/// match what the code expects. Versions the database has but this build does not know (a newer build ran) are
/// tolerated, which lets an older replica keep running during a rolling upgrade.
/// </para>
/// </remarks>
public sealed partial class SqlMigrationRunner(NpgsqlDataSource dataSource, ILogger<SqlMigrationRunner> logger)
{
    /// <summary>"lgw_migr" as a 64-bit advisory lock key shared by every component.</summary>
    public const long AdvisoryLockKey = 0x6C67775F6D696772;

    /// <summary>Applies pending migrations; returns how many this call applied.</summary>
    public async Task<int> ApplyAsync(string component, IReadOnlyList<SqlMigration> migrations, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(component);
        CheckOrder(component, migrations);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, null, "SELECT pg_advisory_lock(@key)", cancellationToken, ("key", AdvisoryLockKey));
        try
        {
            await ExecuteAsync(connection, null, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    component  text        NOT NULL,
                    version    integer     NOT NULL,
                    name       text        NOT NULL,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (component, version))
                """, cancellationToken);

            var applied = new Dictionary<int, string>();
            await using (var select = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations WHERE component = @component", connection))
            {
                select.Parameters.AddWithValue("component", component);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied[reader.GetInt32(0)] = reader.GetString(1);
                }
            }

            foreach (var unknown in applied.Keys.Except(migrations.Select(m => m.Version)).Order())
            {
                LogUnknownVersion(component, unknown);
            }

            var count = 0;
            foreach (var migration in migrations)
            {
                var checksum = Checksum(migration.Sql);
                if (applied.TryGetValue(migration.Version, out var recorded))
                {
                    if (recorded != checksum)
                    {
                        throw new InvalidOperationException(
                            $"Migration {component} v{migration.Version} ({migration.Name}) was changed after it was applied. " +
                            "Add a new migration instead of editing an applied one.");
                    }

                    continue;
                }

                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
                await ExecuteAsync(connection, transaction,
                    "INSERT INTO schema_migrations (component, version, name, checksum) VALUES (@component, @version, @name, @checksum)",
                    cancellationToken, ("component", component), ("version", migration.Version), ("name", migration.Name), ("checksum", checksum));
                await transaction.CommitAsync(cancellationToken);
                LogApplied(component, migration.Version, migration.Name);
                count++;
            }

            return count;
        }
        finally
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await ExecuteAsync(connection, null, "SELECT pg_advisory_unlock(@key)", CancellationToken.None, ("key", AdvisoryLockKey));
            }
        }
    }

    public static string Checksum(string sql) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n").Trim())));

    private static void CheckOrder(string component, IReadOnlyList<SqlMigration> migrations)
    {
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version < 1 || (i > 0 && migrations[i].Version <= migrations[i - 1].Version))
            {
                throw new ArgumentException($"Migrations of {component} must have positive, strictly increasing versions.", nameof(migrations));
            }
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Component} v{Version} ({Name})")]
    private partial void LogApplied(string component, int version, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database has migration {Component} v{Version}, which this build does not know (a newer build applied it)")]
    private partial void LogUnknownVersion(string component, int version);
}
