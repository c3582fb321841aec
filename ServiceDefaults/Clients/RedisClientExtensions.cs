using LlmGateway.ServiceDefaults.Clients;
using LlmGateway.ServiceDefaults.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

public static class RedisClientExtensions
{
    /// <summary>
    /// Registers a StackExchange.Redis <see cref="IConnectionMultiplexer"/> singleton from
    /// <c>ConnectionStrings:&lt;connectionName&gt;</c> (Aspire's <c>host:port,password=…</c>), plus the readiness
    /// check <c>&lt;connectionName&gt;_check</c> (tagged <c>ready</c>) that PINGs Redis.
    /// The multiplexer connects when first resolved, with <c>abortConnect=false</c>: if Redis is down the service
    /// still starts and the multiplexer keeps reconnecting in the background. A missing connection string fails
    /// the host's start with a message naming the configuration key.
    /// </summary>
    public static TBuilder AddRedisClient<TBuilder>(
        this TBuilder builder,
        string connectionName,
        Action<RedisClientSettings>? configureSettings = null,
        Action<ConfigurationOptions>? configureOptions = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);

        var services = builder.Services;
        services.AddOptions<RedisClientSettings>(connectionName)
            .Configure<IConfiguration>((settings, configuration) =>
            {
                configuration.GetSection(RedisClientSettings.SectionName).Bind(settings);
                if (configuration.GetConnectionString(connectionName) is { Length: > 0 } connectionString)
                {
                    settings.ConnectionString = connectionString;
                }

                configureSettings?.Invoke(settings);
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisClientSettings>>(new ConnectionStringValidator<RedisClientSettings>(
            connectionName, RedisClientSettings.SectionName, settings => settings.ConnectionString, ParseError));

        services.AddSingleton<IConnectionMultiplexer>(provider => Connect(provider, connectionName, configureOptions));

        // Whether to add the check is decided now, from what is known now (as Aspire does).
        var registrationSettings = new RedisClientSettings();
        builder.Configuration.GetSection(RedisClientSettings.SectionName).Bind(registrationSettings);
        configureSettings?.Invoke(registrationSettings);
        if (!registrationSettings.DisableHealthChecks)
        {
            services.AddHealthChecks().Add(new HealthCheckRegistration(
                $"{connectionName}_check",
                provider => new RedisHealthCheck(
                    provider.GetRequiredService<IConnectionMultiplexer>(),
                    provider.GetRequiredService<IOptionsMonitor<RedisClientSettings>>().Get(connectionName).HealthCheckTimeout),
                failureStatus: null,
                tags: [HealthEndpointPaths.ReadyTag]));
        }

        return builder;
    }

    private static ConnectionMultiplexer Connect(IServiceProvider provider, string connectionName, Action<ConfigurationOptions>? configureOptions)
    {
        // Get() runs the validator: a missing connection string throws OptionsValidationException naming the key.
        var settings = provider.GetRequiredService<IOptionsMonitor<RedisClientSettings>>().Get(connectionName);
        var options = ConfigurationOptions.Parse(settings.ConnectionString!);
        options.AbortOnConnectFail = false;
        configureOptions?.Invoke(options);

        var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("LlmGateway.ServiceDefaults.Redis");
        ClientsLog.RedisConnecting(logger, connectionName, string.Join(", ", options.EndPoints));

        var multiplexer = ConnectionMultiplexer.Connect(options);
        multiplexer.ConnectionFailed += (_, e) =>
            ClientsLog.RedisConnectionFailed(logger, connectionName, e.ConnectionType.ToString(), e.EndPoint, e.FailureType.ToString(), e.Exception);
        multiplexer.ConnectionRestored += (_, e) =>
            ClientsLog.RedisConnectionRestored(logger, connectionName, e.ConnectionType.ToString(), e.EndPoint);
        multiplexer.ErrorMessage += (_, e) => ClientsLog.RedisServerError(logger, connectionName, e.EndPoint, e.Message);
        multiplexer.InternalError += (_, e) => ClientsLog.RedisInternalError(logger, connectionName, e.Origin, e.EndPoint, e.Exception);
        return multiplexer;
    }

    private static string? ParseError(string connectionString)
    {
        try
        {
            var options = ConfigurationOptions.Parse(connectionString);
            return options.EndPoints.Count == 0 ? "it names no host:port." : null;
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or NotSupportedException)
        {
            return exception.Message;
        }
    }
}
