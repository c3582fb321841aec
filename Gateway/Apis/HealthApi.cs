using System.Text.Json;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Usage;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Apis;

/// <summary>
/// Health probes: <c>/health</c> (readiness, JSON) and <c>/alive</c> (liveness) from the service defaults, plus the
/// aliases older deployments probe: <c>/readyz</c>, <c>/ready</c> (readiness) and <c>/healthz</c>, <c>/livez</c>,
/// <c>/live</c> (liveness). Redis being down makes the gateway degraded, not unready: known credentials and
/// usage spooling keep it serving.
/// </summary>
internal static class HealthApi
{
    public const string LiveTag = "live";

    public static WebApplication MapGatewayHealth(this WebApplication app)
    {
        // /health (readiness) and /alive (liveness) as every service maps them, with the gateway's JSON body.
        app.MapDefaultEndpoints(WriteAsync);

        var readiness = new HealthCheckOptions { ResponseWriter = WriteAsync };
        var liveness = new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag), ResponseWriter = WriteAsync };
        foreach (var path in (string[])["/readyz", "/ready"])
        {
            app.MapHealthChecks(path, readiness).AllowAnonymous();
        }

        foreach (var path in (string[])["/healthz", "/livez", "/live"])
        {
            app.MapHealthChecks(path, liveness).AllowAnonymous();
        }

        return app;
    }

    /// <summary>
    /// <c>{"status":"ok","service":"gateway","anthropicKeySet":true,"redis":"connected",…,"checks":[…]}</c>.
    /// Never shows secrets or exception details.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        var services = context.RequestServices;
        var upstream = services.GetRequiredService<IOptions<UpstreamOptions>>().Value;
        var redis = services.GetService<IConnectionMultiplexer>();
        var spool = services.GetService<UsageSpool>();

        context.Response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteString("status", report.Status switch
        {
            HealthStatus.Healthy => "ok",
            HealthStatus.Degraded => "degraded",
            _ => "unhealthy",
        });
        writer.WriteString("service", "gateway");
        writer.WriteBoolean("anthropicKeySet", upstream.HasApiKey);
        writer.WriteString("upstream", upstream.Name ?? upstream.BaseUrl?.Host);
        writer.WriteString("redis", redis is { IsConnected: true } ? "connected" : "disconnected");
        writer.WriteBoolean("usageSpoolPending", spool?.HasPending ?? false);
        writer.WriteStartArray("checks");
        foreach (var (name, entry) in report.Entries)
        {
            writer.WriteStartObject();
            writer.WriteString("name", name);
            writer.WriteString("status", entry.Status.ToString());
            writer.WriteString("description", entry.Description);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }
}
