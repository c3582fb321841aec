using System.Buffers;
using System.Text.Json;

namespace LlmGateway.Gateway.Errors;

/// <summary>
/// Errors the gateway itself produces, in Anthropic's shape:
/// <c>{"type":"error","error":{"type":…,"message":…},"request_id":…}</c>. Upstream error bodies are never rewritten
/// (clients such as Claude Code match on their wording); only the gateway's own decisions go through here.
/// </summary>
internal static class AnthropicErrors
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
