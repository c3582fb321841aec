using System.Buffers;
using System.Text.Json;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// Anthropic Messages request → OpenAI Chat Completions request, for a <c>/v1/messages</c> caller of a model served by an
/// OpenAI-compatible upstream (OpenAI, vLLM, Ollama, …), as LiteLLM's Anthropic adapter does it: <c>system</c> → a
/// leading system message; text and image blocks → content parts (base64 → data URL); <c>tool_result</c> blocks →
/// <c>tool</c> messages placed before the rest of their user turn; <c>tool_use</c> blocks → assistant <c>tool_calls</c>
/// (arguments as a JSON string); thinking blocks dropped; <c>tools</c>, <c>tool_choice</c> (<c>any</c> → <c>required</c>,
/// <c>disable_parallel_tool_use</c> → <c>parallel_tool_calls: false</c>), <c>stop_sequences</c> → <c>stop</c>,
/// <c>metadata.user_id</c> → <c>user</c>; a stream asks for <c>stream_options.include_usage</c> so usage can be metered.
/// <c>max_tokens</c> stays <c>max_tokens</c>: the field every OpenAI-compatible server reads.
/// </summary>
internal static class MessagesRequestTranslator
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    /// <summary>Returns null on success, else what is wrong with the Anthropic request (a 400 in Anthropic's shape).</summary>
    public static string? Translate(ReadOnlyMemory<byte> json, IBufferWriter<byte> output)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException)
        {
            return "The request body is not valid JSON.";
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return "The request body must be a JSON object.";
            }

            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String)
            {
                return "model: Field required";
            }

            if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                return "messages: Field required";
            }

            using var writer = new Utf8JsonWriter(output);
            writer.WriteStartObject();
            writer.WriteString("model"u8, model.GetString());
            if (root.TryGetProperty("max_tokens", out var maxTokens) && maxTokens.ValueKind == JsonValueKind.Number)
            {
                writer.WritePropertyName("max_tokens"u8);
                maxTokens.WriteTo(writer);
            }

            writer.WriteStartArray("messages"u8);
            if (root.TryGetProperty("system", out var system))
            {
                if (SystemText(system) is { Length: > 0 } text)
                {
                    writer.WriteStartObject();
                    writer.WriteString("role"u8, "system"u8);
                    writer.WriteString("content"u8, text);
                    writer.WriteEndObject();
                }
            }

            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                {
                    return $"messages.{index}.role: Field required";
                }

                message.TryGetProperty("content", out var content);
                var error = role.ValueEquals("assistant") ? WriteAssistant(content, writer)
                    : role.ValueEquals("user") ? WriteUser(content, writer)
                    : $"messages.{index}.role: Input should be 'user' or 'assistant'";
                if (error is not null)
                {
                    return error.StartsWith("messages.", StringComparison.Ordinal) ? error : $"messages.{index}.content: {error}";
                }

                index++;
            }

            writer.WriteEndArray();
            var stream = root.TryGetProperty("stream", out var streamElement) && streamElement.ValueKind == JsonValueKind.True;
            if (stream)
            {
                writer.WriteBoolean("stream"u8, true);
                writer.WriteStartObject("stream_options"u8);
                writer.WriteBoolean("include_usage"u8, true);
                writer.WriteEndObject();
            }

            foreach (var name in (ReadOnlySpan<string>)["temperature", "top_p"])
            {
                if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number)
                {
                    writer.WritePropertyName(name);
                    value.WriteTo(writer);
                }
            }

            if (root.TryGetProperty("stop_sequences", out var stop) && stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() > 0)
            {
                writer.WritePropertyName("stop"u8);
                stop.WriteTo(writer);
            }

            if (root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("user_id", out var user) && user.ValueKind == JsonValueKind.String)
            {
                writer.WriteString("user"u8, user.GetString());
            }

            WriteTools(root, writer);
            writer.WriteEndObject();
        }

        return null;
    }

    private static string? SystemText(JsonElement system)
    {
        if (system.ValueKind == JsonValueKind.String)
        {
            return system.GetString();
        }

        if (system.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var parts = new List<string>();
        foreach (var block in system.EnumerateArray())
        {
            if (block.ValueKind == JsonValueKind.Object && block.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                parts.Add(text.GetString()!);
            }
        }

        return string.Join("\n", parts);
    }

    private static string? WriteUser(JsonElement content, Utf8JsonWriter writer)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, "user"u8);
            writer.WriteString("content"u8, content.GetString());
            writer.WriteEndObject();
            return null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return "Input should be a valid string or a list of content blocks";
        }

        // Tool results answer the previous assistant turn: they come first, as tool messages.
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type) || !type.ValueEquals("tool_result"))
            {
                continue;
            }

            writer.WriteStartObject();
            writer.WriteString("role"u8, "tool"u8);
            writer.WriteString("tool_call_id"u8, block.TryGetProperty("tool_use_id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : "");
            var text = block.TryGetProperty("content", out var result) ? ResultText(result) : "";
            if (block.TryGetProperty("is_error", out var isError) && isError.ValueKind == JsonValueKind.True)
            {
                text = "Error: " + text;
            }

            writer.WriteString("content"u8, text);
            writer.WriteEndObject();
        }

        var parts = 0;
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type))
            {
                return "each content block needs a type";
            }

            if (type.ValueEquals("tool_result") || !(type.ValueEquals("text") || type.ValueEquals("image")))
            {
                continue;
            }

            if (parts++ == 0)
            {
                writer.WriteStartObject();
                writer.WriteString("role"u8, "user"u8);
                writer.WriteStartArray("content"u8);
            }

            if (type.ValueEquals("text"))
            {
                writer.WriteStartObject();
                writer.WriteString("type"u8, "text"u8);
                writer.WriteString("text"u8, block.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : "");
                writer.WriteEndObject();
            }
            else if (ImageUrl(block) is { } url)
            {
                writer.WriteStartObject();
                writer.WriteString("type"u8, "image_url"u8);
                writer.WriteStartObject("image_url"u8);
                writer.WriteString("url"u8, url);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            else
            {
                return "image.source: Input should be a base64 or url source";
            }
        }

        if (parts > 0)
        {
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return null;
    }

    private static string? ImageUrl(JsonElement block)
    {
        if (!block.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object || !source.TryGetProperty("type", out var type))
        {
            return null;
        }

        if (type.ValueEquals("base64") && source.TryGetProperty("media_type", out var media) && source.TryGetProperty("data", out var data))
        {
            return $"data:{media.GetString()};base64,{data.GetString()}";
        }

        return type.ValueEquals("url") && source.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String ? url.GetString() : null;
    }

    private static string ResultText(JsonElement result)
    {
        if (result.ValueKind == JsonValueKind.String)
        {
            return result.GetString()!;
        }

        if (result.ValueKind != JsonValueKind.Array)
        {
            return "";
        }

        var parts = new List<string>();
        foreach (var block in result.EnumerateArray())
        {
            if (block.ValueKind == JsonValueKind.Object && block.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                parts.Add(text.GetString()!);
            }
        }

        return string.Join("\n", parts);
    }

    private static string? WriteAssistant(JsonElement content, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("role"u8, "assistant"u8);
        if (content.ValueKind == JsonValueKind.String)
        {
            writer.WriteString("content"u8, content.GetString());
            writer.WriteEndObject();
            return null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return "Input should be a valid string or a list of content blocks";
        }

        string? text = null;
        var calls = 0;
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type))
            {
                continue;
            }

            if (type.ValueEquals("text") && block.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            {
                text += t.GetString();
            }
            else if (type.ValueEquals("tool_use"))
            {
                calls++;
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

        if (calls > 0)
        {
            writer.WriteStartArray("tool_calls"u8);
            foreach (var block in content.EnumerateArray())
            {
                if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type) || !type.ValueEquals("tool_use"))
                {
                    continue;
                }

                writer.WriteStartObject();
                writer.WriteString("id"u8, block.TryGetProperty("id", out var id) ? id.GetString() : "");
                writer.WriteString("type"u8, "function"u8);
                writer.WriteStartObject("function"u8);
                writer.WriteString("name"u8, block.TryGetProperty("name", out var name) ? name.GetString() : "");
                writer.WriteString("arguments"u8, block.TryGetProperty("input", out var input) ? input.GetRawText() : "{}");
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        return null;
    }

    private static void WriteTools(JsonElement root, Utf8JsonWriter writer)
    {
        if (!root.TryGetProperty("tools", out var tools) || tools.ValueKind != JsonValueKind.Array || tools.GetArrayLength() == 0)
        {
            return;
        }

        writer.WriteStartArray("tools"u8);
        foreach (var tool in tools.EnumerateArray())
        {
            // Server tools (web search, …) have no OpenAI equivalent; only custom tools carry a schema.
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("input_schema", out var schema))
            {
                continue;
            }

            writer.WriteStartObject();
            writer.WriteString("type"u8, "function"u8);
            writer.WriteStartObject("function"u8);
            writer.WriteString("name"u8, tool.TryGetProperty("name", out var name) ? name.GetString() : "");
            if (tool.TryGetProperty("description", out var description) && description.ValueKind == JsonValueKind.String)
            {
                writer.WriteString("description"u8, description.GetString());
            }

            writer.WritePropertyName("parameters"u8);
            schema.WriteTo(writer);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (!root.TryGetProperty("tool_choice", out var choice) || choice.ValueKind != JsonValueKind.Object || !choice.TryGetProperty("type", out var type))
        {
            return;
        }

        writer.WritePropertyName("tool_choice"u8);
        if (type.ValueEquals("tool") && choice.TryGetProperty("name", out var toolName))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "function"u8);
            writer.WriteStartObject("function"u8);
            writer.WriteString("name"u8, toolName.GetString());
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteStringValue(type.ValueEquals("any") ? "required" : type.ValueEquals("none") ? "none" : "auto");
        }

        if (choice.TryGetProperty("disable_parallel_tool_use", out var disable) && disable.ValueKind == JsonValueKind.True)
        {
            writer.WriteBoolean("parallel_tool_calls"u8, false);
        }
    }
}
