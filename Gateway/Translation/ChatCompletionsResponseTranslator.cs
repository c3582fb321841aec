using System.Buffers;
using System.Text.Json;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// Anthropic Message (non-streaming) → OpenAI <c>chat.completion</c>: text blocks joined into <c>message.content</c>,
/// <c>tool_use</c> blocks as <c>tool_calls</c> (arguments as a JSON string), thinking left out, <c>stop_reason</c> →
/// <c>finish_reason</c>, usage with <c>prompt_tokens</c> = input + cache writes + cache reads and
/// <c>prompt_tokens_details.cached_tokens</c> = cache reads (OpenAI counts cached tokens inside the prompt).
/// </summary>
internal static class ChatCompletionsResponseTranslator
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    /// <summary>Returns false when the body is not an Anthropic message (nothing is written then).</summary>
    public static bool TryTranslate(ReadOnlyMemory<byte> message, long created, IBufferWriter<byte> output)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message, DocumentOptions);
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            using var writer = new Utf8JsonWriter(output);
            writer.WriteStartObject();
            writer.WriteString("id"u8, CompletionId(String(root, "id")));
            writer.WriteString("object"u8, "chat.completion"u8);
            writer.WriteNumber("created"u8, created);
            writer.WriteString("model"u8, String(root, "model") ?? "");
            writer.WriteStartArray("choices"u8);
            writer.WriteStartObject();
            writer.WriteNumber("index"u8, 0);
            writer.WriteStartObject("message"u8);
            writer.WriteString("role"u8, "assistant"u8);

            string? text = null;
            var toolCalls = 0;
            foreach (var block in content.EnumerateArray())
            {
                if (block.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                if (block.TryGetProperty("type", out var type) && type.ValueEquals("text") && block.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                {
                    text = text is null ? t.GetString() : text + t.GetString();
                }
                else if (type.ValueEquals("tool_use"))
                {
                    toolCalls++;
                }
            }

            if (text is null)
            {
                writer.WriteNull("content"u8);
            }
            else
            {
                writer.WriteString("content"u8, text);
            }

            writer.WriteNull("refusal"u8);
            if (toolCalls > 0)
            {
                writer.WriteStartArray("tool_calls"u8);
                foreach (var block in content.EnumerateArray())
                {
                    if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type) || !type.ValueEquals("tool_use"))
                    {
                        continue;
                    }

                    writer.WriteStartObject();
                    writer.WriteString("id"u8, String(block, "id") ?? "");
                    writer.WriteString("type"u8, "function"u8);
                    writer.WriteStartObject("function"u8);
                    writer.WriteString("name"u8, String(block, "name") ?? "");
                    writer.WriteString("arguments"u8, block.TryGetProperty("input", out var input) ? input.GetRawText() : "{}");
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteNull("logprobs"u8);
            writer.WriteString("finish_reason"u8, FinishReasons.FromStopReason(String(root, "stop_reason")));
            writer.WriteEndObject();
            writer.WriteEndArray();

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                var counts = ChatUsage.Read(usage);
                writer.WritePropertyName("usage"u8);
                counts.Write(writer);
            }

            writer.WriteEndObject();
        }

        return true;
    }

    /// <summary>OpenAI ids start with <c>chatcmpl-</c>; the Anthropic id stays inside, so the two can be matched in logs.</summary>
    public static string CompletionId(string? messageId) => "chatcmpl-" + (messageId ?? Guid.NewGuid().ToString("N"));

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>Anthropic usage counts, written as OpenAI usage.</summary>
internal struct ChatUsage
{
    public long InputTokens;
    public long OutputTokens;
    public long CacheCreationInputTokens;
    public long CacheReadInputTokens;

    public static ChatUsage Read(JsonElement usage)
    {
        var counts = default(ChatUsage);
        counts.Update(usage);
        return counts;
    }

    /// <summary>Anthropic counts are cumulative: a later value replaces an earlier one.</summary>
    public void Update(JsonElement usage)
    {
        foreach (var property in usage.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt64(out var value))
            {
                continue;
            }

            switch (property.Name)
            {
                case "input_tokens": InputTokens = value; break;
                case "output_tokens": OutputTokens = value; break;
                case "cache_creation_input_tokens": CacheCreationInputTokens = value; break;
                case "cache_read_input_tokens": CacheReadInputTokens = value; break;
            }
        }
    }

    public readonly void Write(Utf8JsonWriter writer)
    {
        var prompt = InputTokens + CacheCreationInputTokens + CacheReadInputTokens;
        writer.WriteStartObject();
        writer.WriteNumber("prompt_tokens"u8, prompt);
        writer.WriteNumber("completion_tokens"u8, OutputTokens);
        writer.WriteNumber("total_tokens"u8, prompt + OutputTokens);
        writer.WriteStartObject("prompt_tokens_details"u8);
        writer.WriteNumber("cached_tokens"u8, CacheReadInputTokens);
        writer.WriteEndObject();
        writer.WriteStartObject("completion_tokens_details"u8);
        writer.WriteNumber("reasoning_tokens"u8, 0);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
