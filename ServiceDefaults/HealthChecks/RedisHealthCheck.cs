using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace LlmGateway.ServiceDefaults.HealthChecks;

/// <summary>Readiness of Redis: a real PING over the shared multiplexer, bounded by a short timeout.</summary>
public sealed class RedisHealthCheck(IConnectionMultiplexer multiplexer, TimeSpan timeout) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // StackExchange.Redis 1.x commands take no CancellationToken; WaitAsync bounds the wait instead.
            var latency = await multiplexer.GetDatabase().PingAsync().WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"PING answered in {latency.TotalMilliseconds:0.#} ms.");
        }
        catch (TimeoutException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"PING did not answer within {timeout.TotalMilliseconds:0} ms.");
        }
        catch (Exception exception) when (exception is RedisException or InvalidOperationException or ObjectDisposedException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis is unreachable: " + exception.GetType().Name + ".", exception);
        }
    }
}
