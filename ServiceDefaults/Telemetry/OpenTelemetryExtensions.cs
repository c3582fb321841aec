using LlmGateway.ServiceDefaults.Telemetry;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

public static class OpenTelemetryExtensions
{
    /// <summary>
    /// Aspire's telemetry defaults without OpenTelemetry.Extensions.Hosting: logs (formatted message and scopes),
    /// metrics (ASP.NET Core, Kestrel, HttpClient, runtime, <c>LlmGateway.*</c>) and traces (ASP.NET Core,
    /// HttpClient, <c>LlmGateway.*</c> and the application's own source), exported over OTLP only when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (without it, spans and metrics are not recorded at all). The
    /// exporter and resource read the other standard variables (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>,
    /// <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_SERVICE_NAME</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c>, <c>OTEL_BSP_SCHEDULE_DELAY</c>, <c>OTEL_METRIC_EXPORT_INTERVAL</c>, …)
    /// from the application's configuration, so environment variables and any other source both work.
    /// Without OTEL_SERVICE_NAME the service name is the application name.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        var configuration = builder.Configuration;
        var applicationName = builder.Environment.ApplicationName;
        var useOtlpExporter = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

        // One instance id for all three signals; OTEL_RESOURCE_ATTRIBUTES (service.instance.id=…) overrides it.
        var instanceId = Guid.NewGuid().ToString();
        void ConfigureResource(ResourceBuilder resource) => resource
            .Clear()
            .AddService(serviceName: applicationName, serviceInstanceId: instanceId)
            .AddTelemetrySdk()
            .AddEnvironmentVariableDetector();

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        builder.Services.ConfigureOpenTelemetryLoggerProvider(logging =>
        {
            logging.ConfigureResource(ConfigureResource);
            if (useOtlpExporter)
            {
                logging.AddOtlpExporter();
            }
        });

        builder.Services.TryAddSingleton(services =>
        {
            var appConfiguration = services.GetRequiredService<IConfiguration>();

            var tracing = Sdk.CreateTracerProviderBuilder()
                .ConfigureServices(s => s.AddSingleton(appConfiguration))
                .ConfigureResource(ConfigureResource);

            var metrics = Sdk.CreateMeterProviderBuilder()
                .ConfigureServices(s => s.AddSingleton(appConfiguration))
                .ConfigureResource(ConfigureResource);

            // Spans and measurements are only produced while something listens, so without an exporter the providers
            // subscribe to nothing: recording every request's spans and histograms for no reader cost a proxy
            // several percent of its CPU per request.
            if (useOtlpExporter)
            {
                tracing
                    .AddSource(
                        applicationName,
                        ServiceDefaultsTelemetry.AspNetCoreActivitySource,
                        ServiceDefaultsTelemetry.HttpClientActivitySource,
                        ServiceDefaultsTelemetry.ApplicationSourcePattern)
                    .AddOtlpExporter();
                metrics
                    .AddMeter(ServiceDefaultsTelemetry.Meters)
                    .AddOtlpExporter();
            }

            return new OpenTelemetryProviders(tracing.Build(), metrics.Build());
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OpenTelemetryProvidersStarter>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, ServerRequestTracingStartupFilter>());

        return builder;
    }
}
