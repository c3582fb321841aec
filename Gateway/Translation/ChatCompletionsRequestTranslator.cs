using System.Buffers;
using System.Text.Json;

namespace LlmGateway.Gateway.Translation;

/// <summary>What the response side of a translated chat completion needs to know about the request.</summary>
internal readonly record struct ChatCompletionsRequest(string Model, bool Stream, bool IncludeUsage, int MaxTokens);

/// <summary>A request the translation refuses: OpenAI's 400 with the offending parameter.</summary>
internal sealed record TranslationError(string Message, string? Param, string? Code = null);

/// <summary>
/// OpenAI Chat Completions request → Anthropic Messages request, as Anthropic's own OpenAI compatibility layer does it:
/// system and developer messages are hoisted into <c>system</c>; user content parts become text and image blocks
/// (data URLs → base64 sources, http(s) URLs → url sources); assistant <c>tool_calls</c> become <c>tool_use</c> blocks
/// and <c>tool</c> messages <c>tool_result</c> blocks of the next user turn (consecutive turns of one role are merged);
/// <c>tools</c>/<c>tool_choice</c>/<c>parallel_tool_calls</c>, <c>max_completion_tokens</c>/<c>max_tokens</c>, <c>stop</c>,
/// <c>temperature</c> (capped at 1), <c>top_p</c>, <c>user</c> (→ <c>metadata.user_id</c>) and <c>stream</c> are mapped.
/// What Claude cannot honour (<c>n</c> &gt; 1, <c>logprobs</c>, audio, JSON response formats, legacy functions) is refused
/// with a 400 naming the parameter rather than silently ignored; sampling knobs with no effect on correctness
/// (<c>presence_penalty</c>, <c>frequency_penalty</c>, <c>seed</c>, <c>logit_bias</c>, <c>store</c>, …) are ignored.
/// </summary>
internal static class ChatCompletionsRequestTranslator
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };
    private static readonly string[] ImageMediaTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    /// <param name="json">The caller's body (valid UTF-8 is checked by the caller).</param>
    /// <param name="defaultMaxTokens">Sent as <c>max_tokens</c> when the caller names none (Anthropic requires one).</param>
    /// <param name="output">Receives the Anthropic body.</param>
    /// <param name="request">What the response translation needs.</param>
    public static TranslationError? Translate(ReadOnlyMemory<byte> json, int defaultMaxTokens, IBufferWriter<byte> output, out ChatCompletionsRequest request)
    {
        request = default;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException)
        {
            return new TranslationError("We could not parse the JSON body of your request. The body must be a valid JSON object.", null);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new TranslationError("The request body must be a JSON object.", null);
            }

            if (Refused(root) is { } refused)
            {
                return refused;
            }

            if (!root.TryGetProperty("model", out var modelElement) || modelElement.ValueKind == JsonValueKind.Null)
            {
                return Missing("model");
            }

            if (modelElement.ValueKind != JsonValueKind.String || modelElement.GetString() is not { Length: > 0 } model)
            {
                return Invalid("model", "a non-empty string");
            }

            var stream = false;
            if (root.TryGetProperty("stream", out var streamElement) && streamElement.ValueKind != JsonValueKind.Null)
            {
                if (streamElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    return Invalid("stream", "a boolean");
                }

                stream = streamElement.ValueKind == JsonValueKind.True;
            }

            var includeUsage = false;
            if (root.TryGetProperty("stream_options", out var streamOptions) && streamOptions.ValueKind != JsonValueKind.Null)
            {
                if (streamOptions.ValueKind != JsonValueKind.Object)
                {
                    return Invalid("stream_options", "an object");
                }

                if (!stream)
                {
                    return new TranslationError("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
                }

                if (streamOptions.TryGetProperty("include_usage", out var usage) && usage.ValueKind != JsonValueKind.Null)
                {
                    if (usage.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        return Invalid("stream_options.include_usage", "a boolean");
                    }

                    includeUsage = usage.ValueKind == JsonValueKind.True;
                }
            }

            if (ReadMaxTokens(root, defaultMaxTokens, out var maxTokens) is { } maxTokensError)
            {
                return maxTokensError;
            }

            using var writer = new Utf8JsonWriter(output);
            writer.WriteStartObject();
            writer.WriteString("model"u8, model);
            writer.WriteNumber("max_tokens"u8, maxTokens);
            if (WriteMessages(root, writer) is { } messagesError)
            {
                return messagesError;
            }

            if (stream)
            {
                writer.WriteBoolean("stream"u8, true);
            }

            if (WriteSampling(root, writer) is { } samplingError)
            {
                return samplingError;
            }

            if (WriteTools(root, writer) is { } toolsError)
            {
                return toolsError;
            }

            if (root.TryGetProperty("user", out var user) && user.ValueKind != JsonValueKind.Null)
            {
                if (user.ValueKind != JsonValueKind.String)
                {
                    return Invalid("user", "a string");
                }

                writer.WriteStartObject("metadata"u8);
                writer.WriteString("user_id"u8, user.GetString());
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.Flush();
            request = new ChatCompletionsRequest(model, stream, includeUsage, maxTokens);
            return null;
        }
    }

    /// <summary>Parameters Claude has no equivalent for: a clear 400 instead of an answer that ignores them.</summary>
    private static TranslationError? Refused(JsonElement root)
    {
        if (root.TryGetProperty("n", out var n) && n.ValueKind != JsonValueKind.Null
            && !(n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var count) && count == 1))
        {
            return new TranslationError("Only n=1 is supported: Claude models return one choice per request.", "n", "unsupported_value");
        }

        if (root.TryGetProperty("logprobs", out var logprobs) && logprobs.ValueKind == JsonValueKind.True)
        {
            return Unsupported("logprobs", "log probabilities are not available for Claude models.");
        }

        if (root.TryGetProperty("top_logprobs", out var top) && top.ValueKind != JsonValueKind.Null)
        {
            return Unsupported("top_logprobs", "log probabilities are not available for Claude models.");
        }

        if (root.TryGetProperty("audio", out var audio) && audio.ValueKind != JsonValueKind.Null)
        {
            return Unsupported("audio", "audio output is not available for Claude models.");
        }

        if (root.TryGetProperty("modalities", out var modalities) && modalities.ValueKind == JsonValueKind.Array)
        {
            foreach (var modality in modalities.EnumerateArray())
            {
                if (modality.ValueKind == JsonValueKind.String && !modality.ValueEquals("text"))
                {
                    return Unsupported("modalities", "Claude models answer with text only.");
                }
            }
        }

        if (root.TryGetProperty("response_format", out var format) && format.ValueKind != JsonValueKind.Null
            && !(format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var formatType) && formatType.ValueEquals("text")))
        {
            return Unsupported("response_format", "only {\"type\":\"text\"} is supported through this gateway; describe the JSON you want in the prompt or use a tool.");
        }

        if (root.TryGetProperty("prediction", out var prediction) && prediction.ValueKind != JsonValueKind.Null)
        {
            return Unsupported("prediction", "predicted outputs are not available for Claude models.");
        }

        if (root.TryGetProperty("functions", out var functions) && functions.ValueKind != JsonValueKind.Null)
        {
            return Unsupported("functions", "use 'tools' instead of the deprecated 'functions'.");
        }

        if (root.TryGetProperty("function_call", out var functionCall) && functionCall.ValueKind != JsonValueKind.Null)
        {
            return Unsupported("function_call", "use 'tool_choice' instead of the deprecated 'function_call'.");
        }

        return null;
    }

    private static TranslationError? ReadMaxTokens(JsonElement root, int defaultMaxTokens, out int maxTokens)
    {
        maxTokens = defaultMaxTokens;
        int? completion = null, legacy = null;
        foreach (var name in (ReadOnlySpan<string>)["max_completion_tokens", "max_tokens"])
        {
            if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var value) || value < 1)
            {
                return Invalid(name, "an integer of at least 1");
            }

            if (name == "max_tokens")
            {
                legacy = value;
            }
            else
            {
                completion = value;
            }
        }

        if (completion is { } c && legacy is { } l && c != l)
        {
            // The reservation and the upstream must read the same bound.
            return new TranslationError("'max_tokens' and 'max_completion_tokens' disagree; send only 'max_completion_tokens'.", "max_tokens");
        }

        maxTokens = completion ?? legacy ?? defaultMaxTokens;
        return null;
    }

    private static TranslationError? WriteSampling(JsonElement root, Utf8JsonWriter writer)
    {
        if (root.TryGetProperty("temperature", out var temperature) && temperature.ValueKind != JsonValueKind.Null)
        {
            if (temperature.ValueKind != JsonValueKind.Number || !temperature.TryGetDouble(out var t) || t is < 0 or > 2)
            {
                return Invalid("temperature", "a number between 0 and 2");
            }

            // OpenAI's range is 0–2, Claude's 0–1: capped, as Anthropic's compatibility layer does.
            writer.WriteNumber("temperature"u8, Math.Min(t, 1));
        }

        if (root.TryGetProperty("top_p", out var topP) && topP.ValueKind != JsonValueKind.Null)
        {
            if (topP.ValueKind != JsonValueKind.Number || !topP.TryGetDouble(out var p) || p is < 0 or > 1)
            {
                return Invalid("top_p", "a number between 0 and 1");
            }

            writer.WriteNumber("top_p"u8, p);
        }

        if (root.TryGetProperty("stop", out var stop) && stop.ValueKind != JsonValueKind.Null)
        {
            if (stop.ValueKind == JsonValueKind.String)
            {
                writer.WriteStartArray("stop_sequences"u8);
                writer.WriteStringValue(stop.GetString());
                writer.WriteEndArray();
            }
            else if (stop.ValueKind == JsonValueKind.Array)
            {
                writer.WriteStartArray("stop_sequences"u8);
                foreach (var sequence in stop.EnumerateArray())
                {
                    if (sequence.ValueKind != JsonValueKind.String)
                    {
                        return Invalid("stop", "a string or an array of strings");
                    }

                    writer.WriteStringValue(sequence.GetString());
                }

                writer.WriteEndArray();
            }
            else
            {
                return Invalid("stop", "a string or an array of strings");
            }
        }

        return null;
    }

    private static TranslationError? WriteTools(JsonElement root, Utf8JsonWriter writer)
    {
        var hasTools = false;
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind != JsonValueKind.Null)
        {
            if (tools.ValueKind != JsonValueKind.Array)
            {
                return Invalid("tools", "an array");
            }

            hasTools = tools.GetArrayLength() > 0;
            if (hasTools)
            {
                writer.WriteStartArray("tools"u8);
                var i = 0;
                foreach (var tool in tools.EnumerateArray())
                {
                    var param = $"tools[{i++}]";
                    if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || !type.ValueEquals("function"))
                    {
                        return new TranslationError("Only tools of type 'function' are supported.", param + ".type");
                    }

                    if (!tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                    {
                        return Missing(param + ".function");
                    }

                    if (!function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString() is not { Length: > 0 } toolName)
                    {
                        return Missing(param + ".function.name");
                    }

                    writer.WriteStartObject();
                    writer.WriteString("name"u8, toolName);
                    if (function.TryGetProperty("description", out var description) && description.ValueKind == JsonValueKind.String)
                    {
                        writer.WriteString("description"u8, description.GetString());
                    }

                    writer.WritePropertyName("input_schema"u8);
                    if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
                    {
                        parameters.WriteTo(writer);
                    }
                    else if (parameters.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
                    {
                        // A function without parameters takes none.
                        writer.WriteStartObject();
                        writer.WriteString("type"u8, "object"u8);
                        writer.WriteStartObject("properties"u8);
                        writer.WriteEndObject();
                        writer.WriteEndObject();
                    }
                    else
                    {
                        return Invalid(param + ".function.parameters", "a JSON Schema object");
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }
        }

        var parallel = !(root.TryGetProperty("parallel_tool_calls", out var parallelElement) && parallelElement.ValueKind == JsonValueKind.False);
        string choiceType = "auto";
        string? choiceName = null;
        if (root.TryGetProperty("tool_choice", out var choice) && choice.ValueKind != JsonValueKind.Null)
        {
            if (choice.ValueKind == JsonValueKind.String)
            {
                choiceType = choice.GetString() switch
                {
                    "auto" => "auto",
                    "required" => "any",
                    "none" => "none",
                    _ => "",
                };
                if (choiceType.Length == 0)
                {
                    return Invalid("tool_choice", "'none', 'auto', 'required' or a named function");
                }
            }
            else if (choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("type", out var type) && type.ValueEquals("function")
                     && choice.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
                     && function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
            {
                choiceType = "tool";
                choiceName = name.GetString();
            }
            else
            {
                return Invalid("tool_choice", "'none', 'auto', 'required' or {\"type\":\"function\",\"function\":{\"name\":…}}");
            }

            if (!hasTools && choiceType != "none")
            {
                return new TranslationError("'tool_choice' is only allowed when 'tools' are specified.", "tool_choice");
            }
        }

        if (!hasTools || (choiceType == "auto" && parallel && choiceName is null && choice.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null))
        {
            return null;
        }

        writer.WriteStartObject("tool_choice"u8);
        writer.WriteString("type"u8, choiceType);
        if (choiceName is not null)
        {
            writer.WriteString("name"u8, choiceName);
        }

        if (!parallel && choiceType != "none")
        {
            writer.WriteBoolean("disable_parallel_tool_use"u8, true);
        }

        writer.WriteEndObject();
        return null;
    }

    /// <summary>Writes <c>system</c> (if any) and <c>messages</c>, merging consecutive turns of one role.</summary>
    private static TranslationError? WriteMessages(JsonElement root, Utf8JsonWriter writer)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            return Missing("messages");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            return Invalid("messages", "an array");
        }

        // System and developer messages, wherever they are, form the system prompt (Claude has no system turns).
        var systemCount = 0;
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var param = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                return Invalid(param, "an object");
            }

            if (!message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            {
                return Missing(param + ".role");
            }

            if (!role.ValueEquals("system") && !role.ValueEquals("developer"))
            {
                continue;
            }

            if (systemCount++ == 0)
            {
                writer.WriteStartArray("system"u8);
            }

            if (WriteTextParts(message, param, writer) is { } error)
            {
                return error;
            }
        }

        if (systemCount > 0)
        {
            writer.WriteEndArray();
        }

        writer.WriteStartArray("messages"u8);
        string? open = null;
        var turns = 0;
        index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var param = $"messages[{index++}]";
            var role = message.GetProperty("role");
            string turnRole;
            if (role.ValueEquals("user") || role.ValueEquals("tool"))
            {
                turnRole = "user";
            }
            else if (role.ValueEquals("assistant"))
            {
                turnRole = "assistant";
            }
            else if (role.ValueEquals("system") || role.ValueEquals("developer"))
            {
                continue;
            }
            else if (role.ValueEquals("function"))
            {
                return Unsupported(param + ".role", "the deprecated 'function' role is not supported; use 'tool'.");
            }
            else
            {
                return new TranslationError($"Invalid value: '{role.GetString()}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.", param + ".role", "invalid_value");
            }

            // A turn is opened lazily, so that a message contributing nothing (an empty assistant text) leaves no empty turn.
            var before = writer.BytesPending + writer.BytesCommitted;
            var error = role.ValueEquals("tool") ? WriteToolResult(message, param, writer, ref open)
                : turnRole == "assistant" ? WriteAssistant(message, param, writer, ref open)
                : WriteUser(message, param, writer, ref open);
            if (error is not null)
            {
                return error;
            }

            if (writer.BytesPending + writer.BytesCommitted != before)
            {
                turns++;
            }
        }

        if (open is not null)
        {
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        return turns == 0
            ? new TranslationError("'messages' must contain at least one user or assistant message.", "messages")
            : null;
    }

    private static void Open(Utf8JsonWriter writer, ref string? open, string role)
    {
        if (open == role)
        {
            return;
        }

        if (open is not null)
        {
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteStartObject();
        writer.WriteString("role"u8, role);
        writer.WriteStartArray("content"u8);
        open = role;
    }

    private static TranslationError? WriteUser(JsonElement message, string param, Utf8JsonWriter writer, ref string? open)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return Missing(param + ".content");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            // Claude refuses empty text blocks; an empty message adds nothing.
            if (content.GetString() is { Length: > 0 } text)
            {
                Open(writer, ref open, "user");
                WriteText(writer, text);
            }

            return null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return Invalid(param + ".content", "a string or an array of content parts");
        }

        var i = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partParam = $"{param}.content[{i++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return Missing(partParam + ".type");
            }

            if (type.ValueEquals("text"))
            {
                if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                {
                    return Missing(partParam + ".text");
                }

                if (text.GetString() is { Length: > 0 } value)
                {
                    Open(writer, ref open, "user");
                    WriteText(writer, value);
                }
            }
            else if (type.ValueEquals("image_url"))
            {
                if (!part.TryGetProperty("image_url", out var image) || image.ValueKind != JsonValueKind.Object
                    || !image.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
                {
                    return Missing(partParam + ".image_url.url");
                }

                Open(writer, ref open, "user");
                if (WriteImage(url.GetString()!, partParam + ".image_url.url", writer) is { } error)
                {
                    return error;
                }
            }
            else
            {
                return Unsupported(partParam + ".type", $"content parts of type '{type.GetString()}' are not supported; use 'text' or 'image_url'.");
            }
        }

        return null;
    }

    private static TranslationError? WriteImage(string url, string param, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "image"u8);
        writer.WriteStartObject("source"u8);
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            // data:<media type>;base64,<data>
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = comma < 0 ? "" : url[5..comma];
            if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                return new TranslationError("Image data URLs must be base64: data:<media type>;base64,<data>.", param, "invalid_image_url");
            }

            var mediaType = header[..^7].ToLowerInvariant();
            if (Array.IndexOf(ImageMediaTypes, mediaType) < 0)
            {
                return new TranslationError($"Unsupported image type '{mediaType}'; use image/jpeg, image/png, image/gif or image/webp.", param, "invalid_image_format");
            }

            writer.WriteString("type"u8, "base64"u8);
            writer.WriteString("media_type"u8, mediaType);
            writer.WriteString("data"u8, url.AsSpan(comma + 1));
        }
        else if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            writer.WriteString("type"u8, "url"u8);
            writer.WriteString("url"u8, url);
        }
        else
        {
            return new TranslationError("Image URLs must be http(s) URLs or base64 data URLs.", param, "invalid_image_url");
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        return null;
    }

    private static TranslationError? WriteAssistant(JsonElement message, string param, Utf8JsonWriter writer, ref string? open)
    {
        if (message.TryGetProperty("content", out var content) && content.ValueKind != JsonValueKind.Null)
        {
            if (content.ValueKind == JsonValueKind.String)
            {
                if (content.GetString() is { Length: > 0 } text)
                {
                    Open(writer, ref open, "assistant");
                    WriteText(writer, text);
                }
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var part in content.EnumerateArray())
                {
                    var partParam = $"{param}.content[{i++}]";
                    if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type))
                    {
                        return Missing(partParam + ".type");
                    }

                    var field = type.ValueEquals("text") ? "text" : type.ValueEquals("refusal") ? "refusal" : null;
                    if (field is null)
                    {
                        return Unsupported(partParam + ".type", "assistant content parts must be 'text' or 'refusal'.");
                    }

                    if (!part.TryGetProperty(field, out var text) || text.ValueKind != JsonValueKind.String)
                    {
                        return Missing(partParam + "." + field);
                    }

                    if (text.GetString() is { Length: > 0 } value)
                    {
                        Open(writer, ref open, "assistant");
                        WriteText(writer, value);
                    }
                }
            }
            else
            {
                return Invalid(param + ".content", "a string, an array of content parts or null");
            }
        }

        if (!message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (calls.ValueKind != JsonValueKind.Array)
        {
            return Invalid(param + ".tool_calls", "an array");
        }

        var c = 0;
        foreach (var call in calls.EnumerateArray())
        {
            var callParam = $"{param}.tool_calls[{c++}]";
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String)
            {
                return Missing(callParam + ".id");
            }

            if (!call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            {
                return Missing(callParam + ".function.name");
            }

            Open(writer, ref open, "assistant");
            writer.WriteStartObject();
            writer.WriteString("type"u8, "tool_use"u8);
            writer.WriteString("id"u8, id.GetString());
            writer.WriteString("name"u8, name.GetString());
            writer.WritePropertyName("input"u8);
            var arguments = function.TryGetProperty("arguments", out var args) && args.ValueKind == JsonValueKind.String ? args.GetString()! : "";
            if (string.IsNullOrWhiteSpace(arguments))
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
            else
            {
                try
                {
                    using var input = JsonDocument.Parse(arguments, DocumentOptions);
                    if (input.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        return Invalid(callParam + ".function.arguments", "a JSON object encoded as a string");
                    }

                    input.RootElement.WriteTo(writer);
                }
                catch (JsonException)
                {
                    return Invalid(callParam + ".function.arguments", "a JSON object encoded as a string");
                }
            }

            writer.WriteEndObject();
        }

        return null;
    }

    private static TranslationError? WriteToolResult(JsonElement message, string param, Utf8JsonWriter writer, ref string? open)
    {
        if (!message.TryGetProperty("tool_call_id", out var id) || id.ValueKind != JsonValueKind.String)
        {
            return Missing(param + ".tool_call_id");
        }

        if (!message.TryGetProperty("content", out var content) || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return Missing(param + ".content");
        }

        Open(writer, ref open, "user");
        writer.WriteStartObject();
        writer.WriteString("type"u8, "tool_result"u8);
        writer.WriteString("tool_use_id"u8, id.GetString());
        if (content.ValueKind == JsonValueKind.String)
        {
            writer.WriteString("content"u8, content.GetString());
        }
        else
        {
            writer.WriteStartArray("content"u8);
            var i = 0;
            foreach (var part in content.EnumerateArray())
            {
                if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || !type.ValueEquals("text")
                    || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                {
                    return Invalid($"{param}.content[{i}]", "a text content part");
                }

                i++;
                WriteText(writer, text.GetString()!);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        return null;
    }

    /// <summary>A system or developer message's text, as system text blocks.</summary>
    private static TranslationError? WriteTextParts(JsonElement message, string param, Utf8JsonWriter writer)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return Missing(param + ".content");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            if (content.GetString() is { Length: > 0 } text)
            {
                WriteText(writer, text);
            }

            return null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return Invalid(param + ".content", "a string or an array of text parts");
        }

        var i = 0;
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || !type.ValueEquals("text")
                || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                return Invalid($"{param}.content[{i}]", "a text content part");
            }

            i++;
            if (text.GetString() is { Length: > 0 } value)
            {
                WriteText(writer, value);
            }
        }

        return null;
    }

    private static void WriteText(Utf8JsonWriter writer, string text)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "text"u8);
        writer.WriteString("text"u8, text);
        writer.WriteEndObject();
    }

    private static TranslationError Missing(string param) =>
        new($"Missing required parameter: '{param}'.", param, "missing_required_parameter");

    private static TranslationError Invalid(string param, string expected) =>
        new($"Invalid value for '{param}': expected {expected}.", param, "invalid_value");

    private static TranslationError Unsupported(string param, string why) =>
        new($"Unsupported parameter: '{param}': {why}", param, "unsupported_parameter");
}
