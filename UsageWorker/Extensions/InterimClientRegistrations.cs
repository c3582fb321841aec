using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Extensions;

// TEMPORARY, until ServiceDefaults' AddRedisClient / AddNpgsqlDataSource land on main: minimal registrations with the
// same names and behaviour (connection string from ConnectionStrings:<name>, Redis with abortConnect=false, a readiness
// check each). Calls in this namespace bind here before Microsoft.Extensions.Hosting; delete this file once
// ServiceDefaults provides them and the same calls bind to ServiceDefaults unchanged.
internal static class InterimClientRegistrations
{
    public static IHostApplicationBuilder AddRedisClient(this IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = ConnectionString(builder, connectionName);
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ =>
        {
            var options = ConfigurationOptions.Parse(connectionString);
            options.AbortOnConnectFail = false;
            return ConnectionMultiplexer.Connect(options);
        });
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            $"{connectionName}_check",
            provider => new DelegateCheck(async ct =>
                await provider.GetRequiredService<IConnectionMultiplexer>().GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(3), ct).ConfigureAwait(false)),
            failureStatus: null,
            tags: ["ready"]));
        return builder;
    }

    public static IHostApplicationBuilder AddNpgsqlDataSource(this IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = ConnectionString(builder, connectionName);
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            $"{connectionName}_check",
            provider => new DelegateCheck(async ct =>
            {
                await using var command = provider.GetRequiredService<NpgsqlDataSource>().CreateCommand("SELECT 1");
                command.CommandTimeout = 3;
                await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
            }),
            failureStatus: null,
            tags: ["ready"]));
        return builder;
    }

    private static string ConnectionString(IHostApplicationBuilder builder, string connectionName) =>
        builder.Configuration.GetConnectionString(connectionName)
        ?? throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not set.");

    private sealed class DelegateCheck(Func<CancellationToken, Task> probe) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await probe(cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, ex.Message);
            }
        }
    }
}
