using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace LlmGateway.ServiceDefaults.HealthChecks;

/// <summary>Readiness of PostgreSQL: <c>SELECT 1</c> on a pooled connection, bounded by a short timeout.</summary>
public sealed class NpgsqlHealthCheck(NpgsqlDataSource dataSource, TimeSpan timeout) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var query = SelectOneAsync(timeoutSource.Token);
        try
        {
            // Npgsql does not always honour cancellation while a connection is being opened (a server that
            // accepts but never answers), so the wait itself is bounded too.
            await query.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            ObserveLater(query);
            return new HealthCheckResult(context.Registration.FailureStatus, $"SELECT 1 did not answer within {timeout.TotalMilliseconds:0} ms.");
        }
        catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "PostgreSQL is unreachable: " + exception.GetType().Name + ".", exception);
        }
    }

    private async Task SelectOneAsync(CancellationToken cancellationToken)
    {
        var command = dataSource.CreateCommand("SELECT 1");
        await using (command.ConfigureAwait(false))
        {
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A query abandoned on timeout ends on its own (Npgsql's own timeouts); its failure is expected.</summary>
    private static void ObserveLater(Task query) =>
        query.ContinueWith(static task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
}
