using LlmGateway.ServiceDefaults.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Aspire's service defaults (the aspire-servicedefaults template), built from what restores here:
/// OpenTelemetry, default health checks, service discovery and the standard HTTP resilience handler on every
/// HttpClient. Every service calls <see cref="AddServiceDefaults{TBuilder}"/> and, if it serves HTTP,
/// <see cref="MapDefaultEndpoints"/>.
/// </summary>
public static class Extensions
{
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.AddStandardHttpResilience(builder.Configuration);
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            // Resilience outside discovery, as in Aspire: every retry resolves the service name again.
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

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
    /// environment, open to anonymous callers (probes do not authenticate). Unhealthy answers 503.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <param name="healthResponseWriter">
    /// Writes the <c>/health</c> response, e.g. <see cref="HealthReportJsonWriter.Create"/>; by default the plain
    /// status text (<c>Healthy</c>, <c>Degraded</c>, <c>Unhealthy</c>) as in Aspire.
    /// </param>
    public static WebApplication MapDefaultEndpoints(this WebApplication app, Func<HttpContext, HealthReport, Task>? healthResponseWriter = null)
    {
        ArgumentNullException.ThrowIfNull(app);

        var health = new HealthCheckOptions();
        if (healthResponseWriter is not null)
        {
            health.ResponseWriter = healthResponseWriter;
        }

        app.MapHealthChecks(HealthEndpointPaths.Health, health).AllowAnonymous();
        app.MapHealthChecks(HealthEndpointPaths.Alive, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(HealthEndpointPaths.LiveTag),
        }).AllowAnonymous();

        return app;
    }
}
