using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace LlmGateway.ServiceDefaults.HealthChecks;

/// <summary>
/// A ready-made JSON response writer for <c>MapDefaultEndpoints(healthResponseWriter: …)</c>:
/// <code>{"service":"gateway","status":"Healthy","durationMs":1.9,"checks":[{"name":"redis_check","status":"Healthy","durationMs":0.8,"description":null,"tags":["ready"]}]}</code>
/// Exception details are left out on purpose: they can carry host names and other configuration.
/// </summary>
public static class HealthReportJsonWriter
{
    /// <summary>A writer that names the service <paramref name="serviceName"/> (default: the application name).</summary>
    public static Func<HttpContext, HealthReport, Task> Create(string? serviceName = null) =>
        (context, report) => WriteAsync(context, report, serviceName ?? context.RequestServices.GetRequiredService<IHostEnvironment>().ApplicationName);

    public static async Task WriteAsync(HttpContext context, HealthReport report, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);

        context.Response.ContentType = "application/json; charset=utf-8";
        var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteString("service", serviceName);
            writer.WriteString("status", report.Status.ToString());
            writer.WriteNumber("durationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
            writer.WriteStartArray("checks");
            foreach (var (name, entry) in report.Entries)
            {
                writer.WriteStartObject();
                writer.WriteString("name", name);
                writer.WriteString("status", entry.Status.ToString());
                writer.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
                writer.WriteString("description", entry.Description);
                writer.WriteStartArray("tags");
                foreach (var tag in entry.Tags)
                {
                    writer.WriteStringValue(tag);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
    }
}
