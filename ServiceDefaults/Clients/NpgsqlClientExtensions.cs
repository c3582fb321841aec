using System.Data.Common;
using LlmGateway.ServiceDefaults.Clients;
using LlmGateway.ServiceDefaults.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.Hosting;

public static class NpgsqlClientExtensions
{
    /// <summary>
    /// Registers an <see cref="NpgsqlDataSource"/> singleton (also as <see cref="DbDataSource"/>) built with
    /// <see cref="NpgsqlDataSourceBuilder"/> from <c>ConnectionStrings:&lt;connectionName&gt;</c>, plus the
    /// readiness check <c>&lt;connectionName&gt;_check</c> (tagged <c>ready</c>) that runs <c>SELECT 1</c>.
    /// A missing connection string fails the host's start with a message naming the configuration key.
    /// </summary>
    public static TBuilder AddNpgsqlDataSource<TBuilder>(
        this TBuilder builder,
        string connectionName,
        Action<NpgsqlClientSettings>? configureSettings = null,
        Action<NpgsqlDataSourceBuilder>? configureDataSourceBuilder = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);

        var services = builder.Services;
        services.AddOptions<NpgsqlClientSettings>(connectionName)
            .Configure<IConfiguration>((settings, configuration) =>
            {
                configuration.GetSection(NpgsqlClientSettings.SectionName).Bind(settings);
                if (configuration.GetConnectionString(connectionName) is { Length: > 0 } connectionString)
                {
                    settings.ConnectionString = connectionString;
                }

                configureSettings?.Invoke(settings);
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<NpgsqlClientSettings>>(new ConnectionStringValidator<NpgsqlClientSettings>(
            connectionName, NpgsqlClientSettings.SectionName, settings => settings.ConnectionString, ParseError));

        services.AddSingleton(provider =>
        {
            // Get() runs the validator: a missing connection string throws OptionsValidationException naming the key.
            var settings = provider.GetRequiredService<IOptionsMonitor<NpgsqlClientSettings>>().Get(connectionName);
            var dataSourceBuilder = new NpgsqlDataSourceBuilder(settings.ConnectionString);
            dataSourceBuilder.UseLoggerFactory(provider.GetService<ILoggerFactory>());
            configureDataSourceBuilder?.Invoke(dataSourceBuilder);
            return dataSourceBuilder.Build();
        });
        services.AddSingleton<DbDataSource>(provider => provider.GetRequiredService<NpgsqlDataSource>());

        var registrationSettings = new NpgsqlClientSettings();
        builder.Configuration.GetSection(NpgsqlClientSettings.SectionName).Bind(registrationSettings);
        configureSettings?.Invoke(registrationSettings);
        if (!registrationSettings.DisableHealthChecks)
        {
            services.AddHealthChecks().Add(new HealthCheckRegistration(
                $"{connectionName}_check",
                provider => new NpgsqlHealthCheck(
                    provider.GetRequiredService<NpgsqlDataSource>(),
                    provider.GetRequiredService<IOptionsMonitor<NpgsqlClientSettings>>().Get(connectionName).HealthCheckTimeout),
                failureStatus: null,
                tags: [HealthEndpointPaths.ReadyTag]));
        }

        return builder;
    }

    private static string? ParseError(string connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            return null;
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or InvalidCastException)
        {
            return exception.Message;
        }
    }
}
