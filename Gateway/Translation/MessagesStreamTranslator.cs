using System.Buffers;
using System.Text.Json;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// OpenAI chat completion chunks → Anthropic Messages SSE, chunk by chunk, every frame with its <c>event:</c> line (the
/// Python and TypeScript SDKs drop frames without one): the first chunk opens with <c>message_start</c> (usage
/// <c>input_tokens: 0</c>: OpenAI reports usage only at the end, and Anthropic counts are cumulative, so the final
/// <c>message_delta</c> carries the real input); content opens a text block, each new tool call closes the open block
/// and opens a <c>tool_use</c> block whose argument fragments are <c>input_json_delta</c>s; the <c>message_delta</c>
/// (stop reason) is held until the usage chunk or <c>[DONE]</c>, so it carries the usage, then <c>message_stop</c>.
/// An <c>{"error":…}</c> chunk becomes <c>event: error</c>.
/// </summary>
internal sealed class MessagesStreamTranslator
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128 };

    private readonly SseEventBuffer _events = new();
    private readonly Dictionary<int, int> _blockByToolIndex = [];
    private Utf8JsonWriter? _writer;
    private bool _started;
    private int _nextBlock;
    private int _openBlock = -1;
    private bool _openIsText;
    private string? _finishReason;
    private OpenAiUsage _usage;

    /// <summary><c>message_stop</c> or an error was written.</summary>
    public bool Finished { get; private set; }

    public void Translate(ReadOnlySpan<byte> openAiSse, IBufferWriter<byte> output)
    {
        _events.Append(openAiSse);
        while (_events.TryRead(out _, out var data))
        {
            Handle(data, output);
        }
    }

    /// <summary>
    /// The upstream's body ended: a stream that reached its finish reason but sent no <c>[DONE]</c> is completed; one
    /// that did not is left open, so the caller ends it with an error frame.
    /// </summary>
    public void Complete(IBufferWriter<byte> output)
    {
        if (!Finished && _finishReason is not null)
        {
            Stop(output);
        }
    }

    private void Handle(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (Finished || data.IsEmpty)
        {
            return;
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            if (_started)
            {
                Stop(output);
            }

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

            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "The upstream API failed.";
                var writer = Begin(output, "error"u8);
                writer.WriteStartObject();
                writer.WriteString("type"u8, "error"u8);
                writer.WriteStartObject("error"u8);
                writer.WriteString("type"u8, "api_error"u8);
                writer.WriteString("message"u8, message);
                writer.WriteEndObject();
                writer.WriteEndObject();
                End(output);
                Finished = true;
                return;
            }

            if (!_started)
            {
                Start(root, output);
            }

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                _usage = OpenAiUsage.Read(usage);
            }

            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                return;
            }

            var choice = choices[0];
            if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
            {
                if (delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String && content.GetString() is { Length: > 0 } text)
                {
                    if (_openBlock < 0 || !_openIsText)
                    {
                        CloseBlock(output);
                        OpenBlock(output, isText: true, null, null);
                    }

                    var writer = BeginDelta(output);
                    writer.WriteString("type"u8, "text_delta"u8);
                    writer.WriteString("text"u8, text);
                    EndDelta(output);
                }

                if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    foreach (var call in calls.EnumerateArray())
                    {
                        OnToolCall(call, output);
                    }
                }
            }

            if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
            {
                _finishReason = finish.GetString();
                CloseBlock(output);
            }
        }
    }

    private void OnToolCall(JsonElement call, IBufferWriter<byte> output)
    {
        var toolIndex = call.TryGetProperty("index", out var i) && i.TryGetInt32(out var value) ? value : 0;
        var function = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
        if (!_blockByToolIndex.TryGetValue(toolIndex, out var block))
        {
            CloseBlock(output);
            var id = call.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : "toolu_" + Guid.NewGuid().ToString("N");
            var name = function.ValueKind == JsonValueKind.Object && function.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : "";
            block = OpenBlock(output, isText: false, id, name);
            _blockByToolIndex[toolIndex] = block;
        }

        if (function.ValueKind == JsonValueKind.Object && function.TryGetProperty("arguments", out var arguments)
            && arguments.ValueKind == JsonValueKind.String && arguments.GetString() is { Length: > 0 } fragment && block == _openBlock)
        {
            var writer = BeginDelta(output);
            writer.WriteString("type"u8, "input_json_delta"u8);
            writer.WriteString("partial_json"u8, fragment);
            EndDelta(output);
        }
    }

    private void Start(JsonElement root, IBufferWriter<byte> output)
    {
        _started = true;
        var writer = Begin(output, "message_start"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_start"u8);
        writer.WriteStartObject("message"u8);
        writer.WriteString("id"u8, MessagesResponseTranslator.MessageId(root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null));
        writer.WriteString("type"u8, "message"u8);
        writer.WriteString("role"u8, "assistant"u8);
        writer.WriteStartArray("content"u8);
        writer.WriteEndArray();
        writer.WriteString("model"u8, root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString() : "");
        writer.WriteNull("stop_reason"u8);
        writer.WriteNull("stop_sequence"u8);
        writer.WritePropertyName("usage"u8);
        default(OpenAiUsage).Write(writer);
        writer.WriteEndObject();
        writer.WriteEndObject();
        End(output);
    }

    private int OpenBlock(IBufferWriter<byte> output, bool isText, string? id, string? name)
    {
        _openBlock = _nextBlock++;
        _openIsText = isText;
        var writer = Begin(output, "content_block_start"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_start"u8);
        writer.WriteNumber("index"u8, _openBlock);
        writer.WriteStartObject("content_block"u8);
        if (isText)
        {
            writer.WriteString("type"u8, "text"u8);
            writer.WriteString("text"u8, ""u8);
        }
        else
        {
            writer.WriteString("type"u8, "tool_use"u8);
            writer.WriteString("id"u8, id);
            writer.WriteString("name"u8, name);
            writer.WriteStartObject("input"u8);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        End(output);
        return _openBlock;
    }

    private void CloseBlock(IBufferWriter<byte> output)
    {
        if (_openBlock < 0)
        {
            return;
        }

        var writer = Begin(output, "content_block_stop"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_stop"u8);
        writer.WriteNumber("index"u8, _openBlock);
        writer.WriteEndObject();
        End(output);
        _openBlock = -1;
    }

    private void Stop(IBufferWriter<byte> output)
    {
        CloseBlock(output);
        var writer = Begin(output, "message_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_delta"u8);
        writer.WriteStartObject("delta"u8);
        writer.WriteString("stop_reason"u8, FinishReasons.ToStopReason(_finishReason));
        writer.WriteNull("stop_sequence"u8);
        writer.WriteEndObject();
        writer.WritePropertyName("usage"u8);
        _usage.Write(writer);
        writer.WriteEndObject();
        End(output);

        writer = Begin(output, "message_stop"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_stop"u8);
        writer.WriteEndObject();
        End(output);
        Finished = true;
    }

    private Utf8JsonWriter BeginDelta(IBufferWriter<byte> output)
    {
        var writer = Begin(output, "content_block_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_delta"u8);
        writer.WriteNumber("index"u8, _openBlock);
        writer.WriteStartObject("delta"u8);
        return writer;
    }

    private void EndDelta(IBufferWriter<byte> output)
    {
        _writer!.WriteEndObject();
        _writer.WriteEndObject();
        End(output);
    }

    private Utf8JsonWriter Begin(IBufferWriter<byte> output, ReadOnlySpan<byte> eventName)
    {
        output.Write("event: "u8);
        output.Write(eventName);
        output.Write("\ndata: "u8);
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

    private void End(IBufferWriter<byte> output)
    {
        _writer!.Flush();
        output.Write("\n\n"u8);
    }
}
