using System.Buffers;
using System.Text.Json;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// Anthropic Messages SSE → OpenAI <c>chat.completion.chunk</c> frames, event by event (nothing waits for the end of
/// the answer): <c>message_start</c> → the role chunk; <c>text_delta</c> → <c>delta.content</c>; a <c>tool_use</c>
/// block → a <c>tool_calls</c> entry (its own index, counted from 0) whose <c>input_json_delta</c>s are argument
/// fragments; <c>message_delta</c> → the chunk with <c>finish_reason</c>; <c>message_stop</c> → the usage chunk
/// (<c>choices: []</c>, when <c>stream_options.include_usage</c>) and <c>data: [DONE]</c>; <c>event: error</c> →
/// <c>data: {"error":…}</c>, which the OpenAI SDKs raise, and no <c>[DONE]</c>. Thinking, signatures and pings are dropped.
/// </summary>
internal sealed class ChatCompletionsStreamTranslator
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128 };

    private readonly SseEventBuffer _events = new();
    private readonly Dictionary<int, int> _toolIndexByBlock = [];
    private readonly bool _includeUsage;
    private readonly long _created;
    private Utf8JsonWriter? _writer;
    private string _id = ChatCompletionsResponseTranslator.CompletionId(null);
    private string _model = "";
    private ChatUsage _usage;
    private string? _stopReason;

    public ChatCompletionsStreamTranslator(bool includeUsage, long created)
    {
        _includeUsage = includeUsage;
        _created = created;
    }

    /// <summary><c>[DONE]</c> or an error frame was written: the OpenAI stream is complete.</summary>
    public bool Finished { get; private set; }

    /// <summary>Translates every event completed by <paramref name="anthropicSse"/>; a partial event waits for its rest.</summary>
    public void Translate(ReadOnlySpan<byte> anthropicSse, IBufferWriter<byte> output)
    {
        _events.Append(anthropicSse);
        while (_events.TryRead(out var name, out var data))
        {
            Handle(name, data, output);
        }
    }

    private void Handle(string? name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (Finished || data.IsEmpty)
        {
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data.ToArray(), DocumentOptions);
        }
        catch (JsonException)
        {
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            // The event name decides; a frame without one (legal SSE) is known by its data's type.
            var type = name ?? (root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null);
            switch (type)
            {
                case "message_start":
                    OnMessageStart(root, output);
                    break;
                case "content_block_start":
                    OnBlockStart(root, output);
                    break;
                case "content_block_delta":
                    OnBlockDelta(root, output);
                    break;
                case "message_delta":
                    OnMessageDelta(root, output);
                    break;
                case "message_stop":
                    OnMessageStop(output);
                    break;
                case "error":
                    OnError(root, output);
                    break;
            }
        }
    }

    private void OnMessageStart(JsonElement root, IBufferWriter<byte> output)
    {
        if (root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
        {
            if (message.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
            {
                _id = ChatCompletionsResponseTranslator.CompletionId(id.GetString());
            }

            if (message.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String)
            {
                _model = model.GetString()!;
            }

            if (message.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                _usage.Update(usage);
            }
        }

        var writer = BeginChunk(output);
        writer.WriteString("role"u8, "assistant"u8);
        writer.WriteString("content"u8, ""u8);
        EndChunk(output, null);
    }

    private void OnBlockStart(JsonElement root, IBufferWriter<byte> output)
    {
        if (!root.TryGetProperty("content_block", out var block) || block.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("index", out var indexElement) || !indexElement.TryGetInt32(out var index))
        {
            return;
        }

        if (block.TryGetProperty("type", out var type) && type.ValueEquals("tool_use"))
        {
            var toolIndex = _toolIndexByBlock.Count;
            _toolIndexByBlock[index] = toolIndex;
            var writer = BeginChunk(output);
            writer.WriteStartArray("tool_calls"u8);
            writer.WriteStartObject();
            writer.WriteNumber("index"u8, toolIndex);
            writer.WriteString("id"u8, block.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : "");
            writer.WriteString("type"u8, "function"u8);
            writer.WriteStartObject("function"u8);
            writer.WriteString("name"u8, block.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : "");
            writer.WriteString("arguments"u8, ""u8);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            EndChunk(output, null);
        }
        else if (type.ValueEquals("text") && block.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
                 && text.GetString() is { Length: > 0 } initial)
        {
            WriteContent(initial, output);
        }
    }

    private void OnBlockDelta(JsonElement root, IBufferWriter<byte> output)
    {
        if (!root.TryGetProperty("delta", out var delta) || delta.ValueKind != JsonValueKind.Object || !delta.TryGetProperty("type", out var type))
        {
            return;
        }

        if (type.ValueEquals("text_delta"))
        {
            if (delta.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String && text.GetString() is { Length: > 0 } value)
            {
                WriteContent(value, output);
            }
        }
        else if (type.ValueEquals("input_json_delta")
                 && root.TryGetProperty("index", out var indexElement) && indexElement.TryGetInt32(out var index)
                 && _toolIndexByBlock.TryGetValue(index, out var toolIndex)
                 && delta.TryGetProperty("partial_json", out var partial) && partial.ValueKind == JsonValueKind.String
                 && partial.GetString() is { Length: > 0 } fragment)
        {
            var writer = BeginChunk(output);
            writer.WriteStartArray("tool_calls"u8);
            writer.WriteStartObject();
            writer.WriteNumber("index"u8, toolIndex);
            writer.WriteStartObject("function"u8);
            writer.WriteString("arguments"u8, fragment);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            EndChunk(output, null);
        }
    }

    private void OnMessageDelta(JsonElement root, IBufferWriter<byte> output)
    {
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            _usage.Update(usage);
        }

        if (root.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
            && delta.TryGetProperty("stop_reason", out var stop) && stop.ValueKind == JsonValueKind.String)
        {
            _stopReason = stop.GetString();
            BeginChunk(output);
            EndChunk(output, FinishReasons.FromStopReason(_stopReason));
        }
    }

    private void OnMessageStop(IBufferWriter<byte> output)
    {
        if (_stopReason is null)
        {
            BeginChunk(output);
            EndChunk(output, "stop");
        }

        if (_includeUsage)
        {
            var writer = BeginFrame(output);
            WriteEnvelope(writer);
            writer.WriteStartArray("choices"u8);
            writer.WriteEndArray();
            writer.WritePropertyName("usage"u8);
            _usage.Write(writer);
            writer.WriteEndObject();
            EndFrame(output);
        }

        output.Write("data: [DONE]\n\n"u8);
        Finished = true;
    }

    private void OnError(JsonElement root, IBufferWriter<byte> output)
    {
        var writer = BeginFrame(output);
        OpenAiErrors.Translate(System.Text.Encoding.UTF8.GetBytes(root.GetRawText()), 500, null, null, writer);
        EndFrame(output);
        Finished = true;
    }

    private void WriteContent(string text, IBufferWriter<byte> output)
    {
        var writer = BeginChunk(output);
        writer.WriteString("content"u8, text);
        EndChunk(output, null);
    }

    private Utf8JsonWriter BeginFrame(IBufferWriter<byte> output)
    {
        output.Write("data: "u8);
        if (_writer is null)
        {
            _writer = new Utf8JsonWriter(output);
        }
        else
        {
            _writer.Reset(output);
        }

        return _writer;
    }

    private void EndFrame(IBufferWriter<byte> output)
    {
        _writer!.Flush();
        output.Write("\n\n"u8);
    }

    private void WriteEnvelope(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, _id);
        writer.WriteString("object"u8, "chat.completion.chunk"u8);
        writer.WriteNumber("created"u8, _created);
        writer.WriteString("model"u8, _model);
        writer.WriteNull("system_fingerprint"u8);
    }

    /// <summary>Starts a chunk with one choice and leaves the writer inside its <c>delta</c>.</summary>
    private Utf8JsonWriter BeginChunk(IBufferWriter<byte> output)
    {
        var writer = BeginFrame(output);
        WriteEnvelope(writer);
        writer.WriteStartArray("choices"u8);
        writer.WriteStartObject();
        writer.WriteNumber("index"u8, 0);
        writer.WriteStartObject("delta"u8);
        return writer;
    }

    private void EndChunk(IBufferWriter<byte> output, string? finishReason)
    {
        var writer = _writer!;
        writer.WriteEndObject();
        writer.WriteNull("logprobs"u8);
        if (finishReason is null)
        {
            writer.WriteNull("finish_reason"u8);
        }
        else
        {
            writer.WriteString("finish_reason"u8, finishReason);
        }

        writer.WriteEndObject();
        writer.WriteEndArray();
        if (_includeUsage)
        {
            writer.WriteNull("usage"u8);
        }

        writer.WriteEndObject();
        EndFrame(output);
    }
}
