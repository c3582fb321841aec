using LlmGateway.ServiceDefaults.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Aspire's service defaults (the aspire-servicedefaults template): OpenTelemetry, default health checks, service
/// discovery and the standard resilience handler on every HttpClient. Every service calls
/// <see cref="AddServiceDefaults{TBuilder}"/> and, if it serves HTTP, <see cref="MapDefaultEndpoints"/>.
/// </summary>
public static class Extensions
{
    /// <summary>ActivitySources and Meters of our own services are named <c>LlmGateway.*</c>.</summary>
    public const string ApplicationTelemetryPattern = "LlmGateway.*";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        // No "Server: Kestrel" banner on any response.
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    /// <summary>Whether telemetry leaves the process (the AppHost sets <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> to its dashboard).</summary>
    public static bool ExportsTelemetry(this IHostApplicationBuilder builder) =>
        !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        // Unlike the template, traces and metrics are collected only when they are exported: with no listener the
        // sources and meters record nothing, and recording every request's spans and histograms for no reader cost
        // the gateway several percent of its CPU per proxied request (measured with the benchmark, c64).
        if (!builder.ExportsTelemetry())
        {
            // Aspire's Redis and PostgreSQL integrations trace (and meter) unless told not to: with nobody reading,
            // that is cost only. A setting of the operator's own wins.
            foreach (var key in (string[])["Aspire:StackExchange:Redis:DisableTracing", "Aspire:Npgsql:DisableTracing", "Aspire:Npgsql:DisableMetrics"])
            {
                builder.Configuration[key] ??= "true";
            }

            return builder;
        }

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(ApplicationTelemetryPattern))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName, ApplicationTelemetryPattern)
                .AddAspNetCoreInstrumentation(aspNetCore =>
                    // Probes are not traced: they would drown the requests that matter.
                    aspNetCore.Filter = context => !HealthEndpointPaths.IsHealthProbe(context.Request.Path))
                .AddHttpClientInstrumentation())
            .UseOtlpExporter();

        return builder;
    }

    /// <summary>The "self" check, tagged <c>live</c>: the process answers, so it is alive.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [HealthEndpointPaths.LiveTag]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (readiness: every check) and <c>/alive</c> (liveness: checks tagged <c>live</c>) in every
    /// environment, open to anonymous callers (probes do not authenticate): Kubernetes probes them in production.
    /// Unhealthy answers 503.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <param name="healthResponseWriter">Writes both responses (e.g. a JSON report); by default the status text.</param>
    public static WebApplication MapDefaultEndpoints(this WebApplication app, Func<HttpContext, HealthReport, Task>? healthResponseWriter = null)
    {
        ArgumentNullException.ThrowIfNull(app);

        var health = new HealthCheckOptions();
        var alive = new HealthCheckOptions { Predicate = registration => registration.Tags.Contains(HealthEndpointPaths.LiveTag) };
        if (healthResponseWriter is not null)
        {
            health.ResponseWriter = alive.ResponseWriter = healthResponseWriter;
        }

        app.MapHealthChecks(HealthEndpointPaths.Health, health).AllowAnonymous();
        app.MapHealthChecks(HealthEndpointPaths.Alive, alive).AllowAnonymous();

        return app;
    }
}
