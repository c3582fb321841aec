using System.Text.Json;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Routing;
using LlmGateway.ServiceDefaults.Requests;

namespace LlmGateway.Gateway.Apis;

/// <summary>
/// The circuit breakers of this gateway's targets, on the admin caller policy (an admin key, as on TokenService's
/// admin API, checked here against the projected credential; or the admin role).
/// </summary>
/// <remarks>
/// <code>
/// GET  /admin/circuit-breaker        → 200 {"breakers":[{"name","upstream","state":"closed"|"open"|"half_open","enabled",
///                                          "consecutive_failures","failures","calls","opened_at","next_probe"}, …]}
///                                      (failures/calls: this sampling window; times RFC 3339 or null)
/// POST /admin/circuit-breaker/reset  body empty, {} (every breaker) or {"name": target or upstream name}
///                                    → 200 {"reset":[names],"broadcast":true|false}; 404 unknown name; 400 bad body
/// </code>
/// A reset closes the breakers here at once and is published on Redis so every other instance closes them too
/// (<c>broadcast:false</c> when Redis did not take it).
/// </remarks>
internal static class CircuitBreakerApi
{
    private const int MaxBodyBytes = 4096;

    public static IEndpointRouteBuilder MapCircuitBreakerApi(this IEndpointRouteBuilder routes)
    {
        var breakers = routes.MapGroup("/admin/circuit-breaker");
        breakers.MapGet("", ListAsync);
        breakers.MapPost("/reset", ResetAsync);
        breakers.RequireAuthorization(CallerPolicies.Admin);
        return routes;
    }

    private static async Task ListAsync(HttpContext context, CircuitBreakerRegistry breakers)
    {
        var requestId = RequestIds.Of(context);
        StartJson(context, requestId);
        await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("breakers");
            foreach (var breaker in breakers.All)
            {
                var s = breaker.Snapshot();
                writer.WriteStartObject();
                writer.WriteString("name", s.Name);
                writer.WriteString("upstream", s.Upstream);
                writer.WriteString("state", CircuitBreakerRegistry.StateName(s.State));
                writer.WriteBoolean("enabled", breaker.Enabled);
                writer.WriteNumber("consecutive_failures", s.ConsecutiveFailures);
                writer.WriteNumber("failures", s.WindowFailures);
                writer.WriteNumber("calls", s.WindowCalls);
                WriteTime(writer, "opened_at", s.OpenedAt);
                WriteTime(writer, "next_probe", s.NextProbe);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static async Task ResetAsync(HttpContext context, CircuitBreakerRegistry breakers, CircuitBreakerBroadcast broadcast)
    {
        var requestId = RequestIds.Of(context);
        var caller = GatewayCallerAuthenticator.CredentialOf(context);
        string? name = null;
        var (read, body) = await RequestBodyReader.ReadAsync(context.Request, MaxBodyBytes, context.RequestAborted);
        using (body)
        {
            if (read == BodyReadStatus.TooLarge)
            {
                await AnthropicErrors.WriteAsync(context, 413, AnthropicErrors.RequestTooLarge, $"The body is larger than {MaxBodyBytes} bytes.", requestId);
                return;
            }

            if (body is { Length: > 0 })
            {
                try
                {
                    using var document = JsonDocument.Parse(body.Memory);
                    if (document.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        throw new JsonException("not an object");
                    }

                    if (document.RootElement.TryGetProperty("name", out var value) && value.ValueKind != JsonValueKind.Null)
                    {
                        name = value.ValueKind == JsonValueKind.String ? value.GetString() : throw new JsonException("name is not a string");
                    }
                }
                catch (JsonException)
                {
                    await AnthropicErrors.WriteAsync(context, 400, AnthropicErrors.InvalidRequest,
                        "The body must be empty or a JSON object such as {\"name\": \"<target or upstream>\"}.", requestId);
                    return;
                }
            }
        }

        var matched = breakers.All.Where(b => name is null || b.Name == name || b.Upstream == name).Select(b => b.Name).ToArray();
        if (name is not null && matched.Length == 0)
        {
            await AnthropicErrors.WriteAsync(context, 404, AnthropicErrors.NotFound, $"There is no circuit breaker named '{name}'.", requestId);
            return;
        }

        // The log line names who reset it: an admin key's id, or the person's user id for an admin JWT.
        breakers.Reset(name, "admin " + caller.Id);
        var published = await broadcast.PublishResetAsync(name);
        StartJson(context, requestId);
        await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("reset");
            foreach (var n in matched)
            {
                writer.WriteStringValue(n);
            }

            writer.WriteEndArray();
            writer.WriteBoolean("broadcast", published);
            writer.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? value)
    {
        if (value is { } v)
        {
            writer.WriteString(name, v.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>A 200 JSON answer with the request id, its body written next.</summary>
    private static void StartJson(HttpContext context, string requestId)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers[HeaderPolicy.RequestIdHeader] = requestId;
    }
}
