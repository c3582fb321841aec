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
        try
        {
            var command = dataSource.CreateCommand("SELECT 1");
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteScalarAsync(timeoutSource.Token).ConfigureAwait(false);
            }

            return HealthCheckResult.Healthy();
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"SELECT 1 did not answer within {timeout.TotalMilliseconds:0} ms.");
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "PostgreSQL is unreachable: " + exception.GetType().Name + ".", exception);
        }
    }
}
