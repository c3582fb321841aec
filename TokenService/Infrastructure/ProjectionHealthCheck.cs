using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// Redis as TokenService sees it: Degraded (still ready, HTTP 200) rather than Unhealthy when Redis is unreachable,
/// because that is exactly when the Gateway falls back to TokenService's introspection; being taken out of rotation
/// then would turn a Redis outage into a credential outage. Writes keep working (PostgreSQL is the source of truth)
/// and the projection is rebuilt when Redis is back.
/// </summary>
public sealed class ProjectionHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(redis.IsConnected
            ? HealthCheckResult.Healthy("Redis reachable; credential projection current.")
            : HealthCheckResult.Degraded("Redis unreachable: credentials are served by introspection; the projection is rebuilt when Redis is back."));
}
