using System.Buffers;
using System.Text.Json;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// OpenAI <c>chat.completion</c> → Anthropic Message, for a <c>/v1/messages</c> caller of an OpenAI-compatible upstream:
/// content → a text block, <c>tool_calls</c> → <c>tool_use</c> blocks (arguments parsed; unparseable → <c>{}</c>),
/// <c>finish_reason</c> → <c>stop_reason</c>, and usage with <c>cache_read_input_tokens</c> =
/// <c>prompt_tokens_details.cached_tokens</c> and <c>input_tokens</c> = prompt − cached (Anthropic counts only uncached
/// input there), so the gateway's usage reader meters it like any Anthropic answer.
/// </summary>
internal static class MessagesResponseTranslator
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    public static bool TryTranslate(ReadOnlyMemory<byte> completion, IBufferWriter<byte> output)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(completion, DocumentOptions);
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            var choice = choices.GetArrayLength() > 0 ? choices[0] : default;
            var message = choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("message", out var m) ? m : default;
            using var writer = new Utf8JsonWriter(output);
            writer.WriteStartObject();
            writer.WriteString("id"u8, MessageId(Text(root, "id")));
            writer.WriteString("type"u8, "message"u8);
            writer.WriteString("role"u8, "assistant"u8);
            writer.WriteString("model"u8, Text(root, "model") ?? "");
            writer.WriteStartArray("content"u8);
            if (message.ValueKind == JsonValueKind.Object)
            {
                if (Text(message, "content") is { Length: > 0 } text)
                {
                    writer.WriteStartObject();
                    writer.WriteString("type"u8, "text"u8);
                    writer.WriteString("text"u8, text);
                    writer.WriteEndObject();
                }

                if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    foreach (var call in calls.EnumerateArray())
                    {
                        var function = call.TryGetProperty("function", out var f) ? f : default;
                        writer.WriteStartObject();
                        writer.WriteString("type"u8, "tool_use"u8);
                        writer.WriteString("id"u8, Text(call, "id") ?? "");
                        writer.WriteString("name"u8, function.ValueKind == JsonValueKind.Object ? Text(function, "name") ?? "" : "");
                        writer.WritePropertyName("input"u8);
                        WriteInput(function.ValueKind == JsonValueKind.Object ? Text(function, "arguments") : null, writer);
                        writer.WriteEndObject();
                    }
                }
            }

            writer.WriteEndArray();
            var finish = choice.ValueKind == JsonValueKind.Object ? Text(choice, "finish_reason") : null;
            writer.WriteString("stop_reason"u8, FinishReasons.ToStopReason(finish));
            writer.WriteNull("stop_sequence"u8);
            writer.WritePropertyName("usage"u8);
            OpenAiUsage.Read(root.TryGetProperty("usage", out var usage) ? usage : default).Write(writer);
            writer.WriteEndObject();
        }

        return true;
    }

    public static string MessageId(string? completionId) => "msg_" + (completionId ?? Guid.NewGuid().ToString("N"));

    internal static void WriteInput(string? arguments, Utf8JsonWriter writer)
    {
        if (!string.IsNullOrWhiteSpace(arguments))
        {
            try
            {
                using var input = JsonDocument.Parse(arguments);
                if (input.RootElement.ValueKind == JsonValueKind.Object)
                {
                    input.RootElement.WriteTo(writer);
                    return;
                }
            }
            catch (JsonException)
            {
            }
        }

        writer.WriteStartObject();
        writer.WriteEndObject();
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>OpenAI usage, written as Anthropic usage.</summary>
internal readonly record struct OpenAiUsage(long PromptTokens, long CompletionTokens, long CachedTokens)
{
    public static OpenAiUsage Read(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return default;
        }

        static long Number(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : 0;

        var cached = usage.TryGetProperty("prompt_tokens_details", out var details) && details.ValueKind == JsonValueKind.Object ? Number(details, "cached_tokens") : 0;
        return new OpenAiUsage(Number(usage, "prompt_tokens"), Number(usage, "completion_tokens"), cached);
    }

    public void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteNumber("input_tokens"u8, Math.Max(0, PromptTokens - CachedTokens));
        writer.WriteNumber("cache_creation_input_tokens"u8, 0);
        writer.WriteNumber("cache_read_input_tokens"u8, CachedTokens);
        writer.WriteNumber("output_tokens"u8, CompletionTokens);
        writer.WriteEndObject();
    }
}
