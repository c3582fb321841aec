using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Streaming;

internal enum ErrorKind
{
    InvalidRequest,
    Authentication,
    Billing,
    Permission,
    NotFound,
    Conflict,
    RequestTooLarge,
    RateLimit,
    Api,
    Timeout,
    Overloaded,
}

/// <summary>
/// Error statuses, types and bodies. Anthropic: <c>{"type":"error","error":{"type","message"},"request_id"}</c>
/// (wire doc §3); OpenAI: <c>{"error":{"message","type","param","code"}}</c> (wire doc §6).
/// Deliberately not Contracts/Errors: the simulator is the gateway's independent test oracle, written from the wire
/// docs, so a mistake in the shared envelope shows up as a difference instead of being copied into both.
/// </summary>
internal static class ApiErrors
{
    public static ErrorKind KindFor(int status) => status switch
    {
        400 => ErrorKind.InvalidRequest,
        401 => ErrorKind.Authentication,
        402 => ErrorKind.Billing,
        403 => ErrorKind.Permission,
        404 => ErrorKind.NotFound,
        409 => ErrorKind.Conflict,
        413 => ErrorKind.RequestTooLarge,
        429 => ErrorKind.RateLimit,
        504 => ErrorKind.Timeout,
        529 => ErrorKind.Overloaded,
        >= 500 => ErrorKind.Api,
        _ => ErrorKind.InvalidRequest,
    };

    public static int StatusFor(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidRequest => 400,
        ErrorKind.Authentication => 401,
        ErrorKind.Billing => 402,
        ErrorKind.Permission => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.Conflict => 409,
        ErrorKind.RequestTooLarge => 413,
        ErrorKind.RateLimit => 429,
        ErrorKind.Timeout => 504,
        ErrorKind.Overloaded => 529,
        _ => 500,
    };

    public static string AnthropicType(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidRequest => "invalid_request_error",
        ErrorKind.Authentication => "authentication_error",
        ErrorKind.Billing => "billing_error",
        ErrorKind.Permission => "permission_error",
        ErrorKind.NotFound => "not_found_error",
        ErrorKind.Conflict => "conflict_error",
        ErrorKind.RequestTooLarge => "request_too_large",
        ErrorKind.RateLimit => "rate_limit_error",
        ErrorKind.Timeout => "timeout_error",
        ErrorKind.Overloaded => "overloaded_error",
        _ => "api_error",
    };

    public static string OpenAiType(ErrorKind kind) => kind switch
    {
        ErrorKind.RateLimit => "requests",
        ErrorKind.Billing => "insufficient_quota",
        ErrorKind.Permission => "permission_error",
        ErrorKind.Api or ErrorKind.Timeout or ErrorKind.Overloaded => "server_error",
        _ => "invalid_request_error",
    };

    public static string? OpenAiCode(ErrorKind kind) => kind switch
    {
        ErrorKind.RateLimit => "rate_limit_exceeded",
        ErrorKind.Billing => "insufficient_quota",
        _ => null,
    };

    /// <summary>The message a simulated (<see cref="SimulatorHeaders.Status"/>) error carries.</summary>
    public static string SimulatedMessage(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidRequest => "Simulated invalid request.",
        ErrorKind.Authentication => "invalid x-api-key",
        ErrorKind.Billing => "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        ErrorKind.Permission => "Your API key does not have permission to use the specified resource.",
        ErrorKind.NotFound => "The requested resource could not be found.",
        ErrorKind.Conflict => "Simulated conflict.",
        ErrorKind.RequestTooLarge => "Request exceeds the maximum allowed number of bytes.",
        ErrorKind.RateLimit => "This request would exceed the rate limit for your organization. Please try again later.",
        ErrorKind.Timeout => "Request timed out.",
        ErrorKind.Overloaded => "Overloaded",
        _ => "Internal server error",
    };

    public static void WriteAnthropic(Utf8JsonWriter writer, ErrorKind kind, string message, string? requestId)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "error"u8);
        writer.WriteStartObject("error"u8);
        writer.WriteString("type"u8, AnthropicType(kind));
        writer.WriteString("message"u8, message);
        writer.WriteEndObject();
        if (requestId is not null)
        {
            writer.WriteString("request_id"u8, requestId);
        }

        writer.WriteEndObject();
    }

    public static void WriteOpenAi(Utf8JsonWriter writer, ErrorKind kind, string message, string? param, string? code)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error"u8);
        writer.WriteString("message"u8, message);
        writer.WriteString("type"u8, OpenAiType(kind));
        WriteNullable(writer, "param"u8, param);
        WriteNullable(writer, "code"u8, code ?? OpenAiCode(kind));
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}
