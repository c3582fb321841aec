using Npgsql;
using StackExchange.Redis;

namespace LlmGateway.TokenService.Extensions;

/// <summary>
/// INTERIM: stands in for ServiceDefaults' <c>builder.AddRedisClient("redis")</c> and
/// <c>builder.AddNpgsqlDataSource("llmgateway")</c> until they land; delete this file and call those instead.
/// Same contract: connection strings from <c>ConnectionStrings:{name}</c>, one singleton client each, a readiness check.
/// </summary>
internal static class InterimClientRegistration
{
    public static void AddInterimRedisClient(this IHostApplicationBuilder builder, string name)
    {
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ =>
        {
            var connectionString = builder.Configuration.GetConnectionString(name)
                ?? throw new InvalidOperationException($"ConnectionStrings:{name} is not configured.");
            var options = ConfigurationOptions.Parse(connectionString);
            // Start (and keep serving from PostgreSQL) while Redis is down; the multiplexer reconnects by itself.
            options.AbortOnConnectFail = false;
            return ConnectionMultiplexer.Connect(options);
        });
        builder.Services.AddHealthChecks().AddCheck<InterimRedisHealthCheck>(name);
    }

    public static void AddInterimNpgsqlDataSource(this IHostApplicationBuilder builder, string name)
    {
        builder.Services.AddSingleton(services =>
        {
            var connectionString = builder.Configuration.GetConnectionString(name)
                ?? throw new InvalidOperationException($"ConnectionStrings:{name} is not configured.");
            return new NpgsqlDataSourceBuilder(connectionString)
                .UseLoggerFactory(services.GetRequiredService<ILoggerFactory>())
                .Build();
        });
        builder.Services.AddHealthChecks().AddCheck<InterimPostgresHealthCheck>(name);
    }

    private sealed class InterimRedisHealthCheck(IConnectionMultiplexer redis) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
    {
        public async Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
            Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
                return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy(e.Message);
            }
        }
    }

    private sealed class InterimPostgresHealthCheck(NpgsqlDataSource dataSource) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
    {
        public async Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
            Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy();
            }
            catch (NpgsqlException e)
            {
                return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy(e.Message);
            }
        }
    }
}
