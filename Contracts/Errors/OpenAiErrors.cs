using System.Text.Json;

namespace LlmGateway.Contracts.Errors;

/// <summary>
/// OpenAI's error shape, <c>{"error":{"message","type","param","code"}}</c>, and how the gateway's (Anthropic-typed)
/// errors map onto it. The OpenAI SDKs raise on the HTTP status and show <c>message</c>; <c>type</c> and <c>code</c>
/// are what callers branch on (<c>invalid_api_key</c>, <c>rate_limit_exceeded</c>, <c>insufficient_quota</c>).
/// Used on <c>/v1/chat/completions</c>; lives beside <see cref="AnthropicErrors"/> so both shapes have one home.
/// </summary>
public static class OpenAiErrors
{
    public const string InvalidRequest = AnthropicErrors.InvalidRequest;

    /// <summary>OpenAI's <c>type</c> and <c>code</c> for an Anthropic error type (or, when unknown, the status).</summary>
    public static (string Type, string? Code) Map(int status, string? anthropicType) => anthropicType switch
    {
        AnthropicErrors.Authentication => ("authentication_error", "invalid_api_key"),
        AnthropicErrors.Permission => ("permission_error", "permission_denied"),
        AnthropicErrors.NotFound => (InvalidRequest, "not_found"),
        AnthropicErrors.RequestTooLarge => (InvalidRequest, "request_too_large"),
        AnthropicErrors.RateLimit => ("rate_limit_exceeded", "rate_limit_exceeded"),
        AnthropicErrors.Billing => ("insufficient_quota", "insufficient_quota"),
        AnthropicErrors.Timeout => ("server_error", "timeout"),
        AnthropicErrors.Overloaded => ("server_error", "overloaded"),
        AnthropicErrors.Api => ("server_error", status == 503 ? "service_unavailable" : null),
        AnthropicErrors.InvalidRequest => (InvalidRequest, status == 415 ? "unsupported_media_type" : null),
        AnthropicErrors.Conflict => (InvalidRequest, "conflict"),
        _ => status switch
        {
            401 => ("authentication_error", "invalid_api_key"),
            402 => ("insufficient_quota", "insufficient_quota"),
            403 => ("permission_error", "permission_denied"),
            404 => (InvalidRequest, "not_found"),
            429 => ("rate_limit_exceeded", "rate_limit_exceeded"),
            >= 500 => ("server_error", null),
            _ => (InvalidRequest, null),
        },
    };

    public static void WriteBody(Utf8JsonWriter writer, string message, string type, string? param, string? code)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error"u8);
        writer.WriteString("message"u8, message);
        writer.WriteString("type"u8, type);
        WriteNullable(writer, "param"u8, param);
        WriteNullable(writer, "code"u8, code);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>
    /// Rewrites an Anthropic error document (<c>{"type":"error","error":{"type","message"}}</c>) into OpenAI's shape.
    /// A body that is not one (an HTML page from a proxy, an empty body) becomes a message naming the status.
    /// </summary>
    public static void Translate(ReadOnlySpan<byte> anthropicError, int status, string? param, string? code, Utf8JsonWriter writer)
    {
        string? type = null;
        string? message = null;
        try
        {
            var reader = new Utf8JsonReader(anthropicError, new JsonReaderOptions { MaxDepth = 64 });
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isError = reader.ValueTextEquals("error"u8);
                    reader.Read();
                    if (!isError || reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var field = reader.ValueTextEquals("type"u8) ? 1 : reader.ValueTextEquals("message"u8) ? 2 : 0;
                        reader.Read();
                        if (field != 0 && reader.TokenType == JsonTokenType.String)
                        {
                            if (field == 1)
                            {
                                type = reader.GetString();
                            }
                            else
                            {
                                message = reader.GetString();
                            }
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
            }
        }
        catch (JsonException)
        {
        }

        var (openAiType, mappedCode) = Map(status, type);
        WriteBody(writer, message ?? $"The upstream API answered with status {status}.", openAiType, param, code ?? mappedCode);
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
