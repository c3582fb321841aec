using StackExchange.Redis;

namespace LlmGateway.Gateway.Extensions;

/// <summary>
/// TEMPORARY until ServiceDefaults' <c>AddRedisClient("redis")</c> is on main: the shared multiplexer from
/// <c>ConnectionStrings:redis</c>, connecting in the background (<c>abortConnect=false</c>) so the gateway starts and
/// serves cached credentials while Redis is down.
/// </summary>
internal static class GatewayRedisRegistration
{
    public static WebApplicationBuilder AddGatewayRedis(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IConnectionMultiplexer>(provider =>
        {
            var connectionString = provider.GetRequiredService<IConfiguration>().GetConnectionString("redis")
                ?? throw new InvalidOperationException("ConnectionStrings:redis is not configured.");
            var options = ConfigurationOptions.Parse(connectionString);
            options.AbortOnConnectFail = false;
            return ConnectionMultiplexer.Connect(options);
        });
        return builder;
    }
}
