using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmGateway.ServiceDefaults.Tests.Hosting;

/// <summary>A JSON health report, so tests can see each check by name.</summary>
internal static class JsonHealth
{
    public static async Task Writer(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.Select(e => new { name = e.Key, status = e.Value.Status.ToString(), tags = e.Value.Tags, description = e.Value.Description }),
        });
    }

    public static async Task<(HttpStatusCode Status, Dictionary<string, (string Status, string[] Tags, string? Description)> Checks)> ReadAsync(TestService service)
    {
        using var response = await service.Client.GetAsync("/health");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var checks = json.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(
            c => c.GetProperty("name").GetString()!,
            c => (c.GetProperty("status").GetString()!, c.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToArray(), c.GetProperty("description").GetString()));
        return (response.StatusCode, checks);
    }
}
