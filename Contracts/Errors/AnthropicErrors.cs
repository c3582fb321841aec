using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Contracts.Errors;

/// <summary>
/// The one home of Anthropic's error envelope, <c>{"type":"error","error":{"type":…,"message":…},"request_id":…}</c>,
/// and its error types, for every service (Gateway, TokenService, UsageWorker). It lives in Contracts rather than
/// ServiceDefaults because it is a wire contract; Contracts already references the ASP.NET Core shared framework,
/// so the <see cref="HttpContext"/> writer can sit beside it. The Gateway never rewrites upstream error bodies
/// (clients such as Claude Code match on their wording); only its own decisions go through here. The
/// UpstreamSimulator keeps its own copy on purpose: it is the gateway's independent test oracle.
/// </summary>
public static class AnthropicErrors
{
    public const string InvalidRequest = "invalid_request_error";
    public const string Authentication = "authentication_error";
    public const string Permission = "permission_error";
    public const string NotFound = "not_found_error";
    public const string RequestTooLarge = "request_too_large";
    public const string RateLimit = "rate_limit_error";
    public const string Api = "api_error";
    public const string Timeout = "timeout_error";
    public const string Overloaded = "overloaded_error";
    public const string Billing = "billing_error";
    public const string Conflict = "conflict_error";
    /// <summary>TokenService: an upstream OAuth account cannot serve (needs reconnecting, or the provider is down).</summary>
    public const string UpstreamAccount = "upstream_account_error";

    /// <summary>Anthropic's error type for an HTTP status, for statuses that carry no body the gateway can read.</summary>
    public static string TypeForStatus(int status) => status switch
    {
        400 => InvalidRequest,
        401 => Authentication,
        403 => Permission,
        404 => NotFound,
        413 => RequestTooLarge,
        429 => RateLimit,
        504 => Timeout,
        529 => Overloaded,
        >= 500 => Api,
        _ => InvalidRequest,
    };

    /// <summary>
    /// Writes an error response. Deterministic rejections (4xx other than 408/409/429) carry
    /// <c>x-should-retry: false</c> so SDKs do not repeat a request that cannot succeed.
    /// </summary>
    public static Task WriteAsync(HttpContext context, int status, string type, string message, string requestId)
    {
        var response = context.Response;
        response.StatusCode = status;
        var headers = response.Headers;
        headers.ContentType = "application/json";
        headers["request-id"] = requestId;
        if (status is >= 400 and < 500 and not 408 and not 409 and not 429)
        {
            headers["x-should-retry"] = "false";
        }

        if (HttpMethods.IsHead(context.Request.Method))
        {
            return Task.CompletedTask;
        }

        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            WriteBody(writer, type, message, requestId);
        }

        return response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
    }

    public static void WriteBody(Utf8JsonWriter writer, string type, string message, string requestId)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "error"u8);
        writer.WriteStartObject("error"u8);
        writer.WriteString("type"u8, type);
        writer.WriteString("message"u8, message);
        writer.WriteEndObject();
        writer.WriteString("request_id"u8, requestId);
        writer.WriteEndObject();
    }

    /// <summary>An SSE <c>event: error</c> frame, for failures after a stream has started (the status is already 200).</summary>
    public static byte[] SseErrorFrame(string type, string message, string requestId)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write("event: error\ndata: "u8);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteBody(writer, type, message, requestId);
        }

        buffer.Write("\n\n"u8);
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>
/// The envelope as a serializable value, for services that answer through <c>TypedResults.Json</c> or
/// <c>WriteAsJsonAsync</c>; the names are fixed here so any serializer settings give the same body.
/// </summary>
public sealed record AnthropicErrorEnvelope(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("error")] AnthropicErrorDetail Error,
    [property: JsonPropertyName("request_id")] string RequestId)
{
    public static AnthropicErrorEnvelope Of(string type, string message, string requestId) =>
        new("error", new AnthropicErrorDetail(type, message), requestId);
}

public sealed record AnthropicErrorDetail(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("message")] string Message);
