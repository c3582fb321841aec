using LlmGateway.Gateway.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Extensions;

/// <summary>Redis for the gateway: without it the gateway still serves (degraded), so it never reports unhealthy.</summary>
internal sealed class GatewayRedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(Timeout, cancellationToken);
            return HealthCheckResult.Healthy($"PING answered in {latency.TotalMilliseconds:0.#} ms.");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException or InvalidOperationException)
        {
            return HealthCheckResult.Degraded("Redis is unreachable: cached credentials and the usage spool keep requests flowing.");
        }
    }
}

/// <summary>Whether the real upstream key is configured (without it every model call would be refused upstream).</summary>
internal sealed class UpstreamKeyHealthCheck(IOptions<UpstreamOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(options.Value.HasApiKey
            ? HealthCheckResult.Healthy("An upstream API key is configured.")
            : HealthCheckResult.Degraded("No upstream API key is configured (Upstream:ApiKey)."));
}
