using System.Buffers;
using System.Text.Json;
using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Streaming;

/// <summary>
/// Incremental parser over the SSE bytes being copied to the client. It finds event boundaries (so the copier can
/// release whole events, and an error frame can be appended cleanly after a cut) and reads usage on the side:
/// only <c>message_start</c>, <c>message_delta</c>, <c>error</c> and legacy <c>completion</c> data is parsed; every
/// other event is just counted. Bytes are never changed or re-parsed.
/// </summary>
/// <remarks>
/// Contract with the caller: <see cref="Scan"/> is given the bytes not yet released, starting at the first byte of
/// the current (incomplete) event; it returns how many leading bytes form complete events, and the caller must drop
/// exactly those bytes before the next call.
/// </remarks>
internal sealed class SseUsageReader
{
    private static readonly JsonReaderOptions JsonOptions = new() { MaxDepth = 64 };

    private readonly ModelNameTable _names;

    // Scan state, as offsets into the unreleased bytes.
    private int _scanFrom;
    private int _lineStart;

    // The current event.
    private EventKind _kind;
    private int _dataStart = -1;
    private int _dataLength;
    private ArrayBufferWriter<byte>? _joinedData;
    private bool _hasFields;

    public SseUsageReader(ModelNameTable names) => _names = names;

    public ResponseUsage Usage;

    /// <summary>Model named by the upstream in <c>message_start</c>.</summary>
    public string? ResponseModel { get; private set; }

    public string? StopReason { get; private set; }

    /// <summary>The stream reached its proper end (<c>message_stop</c>, or a final legacy <c>completion</c>).</summary>
    public bool Completed { get; private set; }

    /// <summary><c>error.type</c> of an <c>event: error</c> the upstream sent, if any.</summary>
    public string? ErrorType { get; private set; }

    public int Events { get; private set; }

    /// <summary>Bytes of <c>content_block_delta</c> payload beyond the fixed envelope, for estimating output of a cut stream.</summary>
    public long DeltaPayloadBytes { get; private set; }

    /// <summary>Output tokens to record when the stream did not complete: what the upstream reported, or an estimate from the deltas seen.</summary>
    public long EstimateOutputTokens() => Math.Max(Usage.OutputTokens, (DeltaPayloadBytes + 3) / 4);

    /// <summary>True when no partial event is pending (the last byte released ended an event).</summary>
    public bool AtEventBoundary => _scanFrom == 0 && _lineStart == 0 && !_hasFields;

    public int Scan(ReadOnlySpan<byte> buffer) => Scan(buffer, endOfStream: false);

    /// <summary>
    /// The last scan, when the source has ended: a trailing CR is then a line end (CR-only line endings), not
    /// possibly the first half of CRLF.
    /// </summary>
    public int ScanToEnd(ReadOnlySpan<byte> buffer) => Scan(buffer, endOfStream: true);

    private int Scan(ReadOnlySpan<byte> buffer, bool endOfStream)
    {
        var released = 0;
        var i = _scanFrom;
        while (i < buffer.Length)
        {
            var found = buffer[i..].IndexOfAny((byte)'\r', (byte)'\n');
            if (found < 0)
            {
                i = buffer.Length;
                break;
            }

            var end = i + found;
            int next;
            if (buffer[end] == (byte)'\r')
            {
                if (end + 1 == buffer.Length && !endOfStream)
                {
                    // A CR at the end: the next read tells whether it is CRLF.
                    i = end;
                    break;
                }

                next = end + 1 < buffer.Length && buffer[end + 1] == (byte)'\n' ? end + 2 : end + 1;
            }
            else
            {
                next = end + 1;
            }

            if (end == _lineStart)
            {
                if (_hasFields)
                {
                    Dispatch(buffer);
                }

                released = next;
            }
            else
            {
                ReadField(buffer, _lineStart, end);
            }

            _lineStart = next;
            i = next;
        }

        _scanFrom = i - released;
        _lineStart -= released;
        if (_dataStart >= 0)
        {
            _dataStart -= released;
        }

        return released;
    }

    private void ReadField(ReadOnlySpan<byte> buffer, int start, int end)
    {
        var line = buffer[start..end];
        if (line[0] == (byte)':')
        {
            return; // comment
        }

        _hasFields = true;
        if (line.StartsWith("event:"u8))
        {
            var name = TrimLeadingSpace(line[6..]);
            _kind = name.SequenceEqual("content_block_delta"u8) ? EventKind.ContentBlockDelta
                : name.SequenceEqual("message_delta"u8) ? EventKind.MessageDelta
                : name.SequenceEqual("message_start"u8) ? EventKind.MessageStart
                : name.SequenceEqual("message_stop"u8) ? EventKind.MessageStop
                : name.SequenceEqual("error"u8) ? EventKind.Error
                : name.SequenceEqual("completion"u8) ? EventKind.Completion
                : EventKind.Other;
        }
        else if (line.StartsWith("data:"u8))
        {
            var valueStart = start + 5 + (line.Length > 5 && line[5] == (byte)' ' ? 1 : 0);
            if (_dataStart < 0)
            {
                _dataStart = valueStart;
                _dataLength = end - valueStart;
            }
            else
            {
                // Several data lines form one value joined by LF (never seen from Anthropic, but legal SSE).
                _joinedData ??= new ArrayBufferWriter<byte>(256);
                if (_joinedData.WrittenCount == 0)
                {
                    _joinedData.Write(buffer.Slice(_dataStart, _dataLength));
                }

                _joinedData.Write("\n"u8);
                _joinedData.Write(buffer[valueStart..end]);
            }
        }
    }

    private void Dispatch(ReadOnlySpan<byte> buffer)
    {
        Events++;
        var data = _joinedData is { WrittenCount: > 0 } joined ? joined.WrittenSpan
            : _dataStart >= 0 ? buffer.Slice(_dataStart, _dataLength)
            : default;

        try
        {
            switch (_kind)
            {
                case EventKind.ContentBlockDelta:
                    // {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}} is ~75 bytes.
                    DeltaPayloadBytes += Math.Max(0, data.Length - 75);
                    break;
                case EventKind.MessageStart:
                    ReadMessageStart(data);
                    break;
                case EventKind.MessageDelta:
                    ReadMessageDelta(data);
                    break;
                case EventKind.MessageStop:
                    Completed = true;
                    break;
                case EventKind.Error:
                    ErrorType = ReadErrorType(data) ?? AnthropicErrors.Api;
                    break;
                case EventKind.Completion:
                    ReadCompletion(data);
                    break;
            }
        }
        catch (JsonException)
        {
            // A malformed event is the client's to judge; usage accounting just skips it.
        }

        _kind = EventKind.Other;
        _dataStart = -1;
        _dataLength = 0;
        _hasFields = false;
        _joinedData?.ResetWrittenCount();
    }

    private void ReadMessageStart(ReadOnlySpan<byte> data)
    {
        // {"type":"message_start","message":{…,"model":"…","usage":{…}}}
        var reader = new Utf8JsonReader(data, JsonOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isMessage = reader.ValueTextEquals("message"u8);
            reader.Read();
            if (!isMessage || reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    Usage.Read(ref reader);
                }
                else if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        ResponseModel = _names.Get(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
    }

    private void ReadMessageDelta(ReadOnlySpan<byte> data)
    {
        // {"type":"message_delta","delta":{"stop_reason":…},"usage":{"output_tokens":…}}
        var reader = new Utf8JsonReader(data, JsonOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                Usage.Read(ref reader);
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isStopReason = reader.ValueTextEquals("stop_reason"u8);
                    reader.Read();
                    if (isStopReason)
                    {
                        StopReason = StopReasons.Read(ref reader) ?? StopReason;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadCompletion(ReadOnlySpan<byte> data)
    {
        // Legacy text completions: the final event has a non-null stop_reason; there is no usage.
        var reader = new Utf8JsonReader(data, JsonOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isStopReason = reader.ValueTextEquals("stop_reason"u8);
            reader.Read();
            if (isStopReason && reader.TokenType == JsonTokenType.String)
            {
                StopReason = reader.GetString();
                Completed = true;
            }
            else
            {
                reader.Skip();
            }
        }
    }

    /// <summary>Reads <c>error.type</c> of an Anthropic error document.</summary>
    internal static string? ReadErrorType(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data, JsonOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

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
                var isType = reader.ValueTextEquals("type"u8);
                reader.Read();
                if (isType && reader.TokenType == JsonTokenType.String)
                {
                    return ErrorTypes.Intern(ref reader);
                }

                reader.Skip();
            }
        }

        return null;
    }

    private static ReadOnlySpan<byte> TrimLeadingSpace(ReadOnlySpan<byte> value) =>
        value.Length > 0 && value[0] == (byte)' ' ? value[1..] : value;

    private enum EventKind : byte
    {
        Other,
        MessageStart,
        ContentBlockDelta,
        MessageDelta,
        MessageStop,
        Error,
        Completion,
    }
}

/// <summary>Anthropic's error types as constants, so reading one allocates nothing.</summary>
internal static class ErrorTypes
{
    public static string Intern(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("overloaded_error"u8)) return AnthropicErrors.Overloaded;
        if (reader.ValueTextEquals("api_error"u8)) return AnthropicErrors.Api;
        if (reader.ValueTextEquals("rate_limit_error"u8)) return AnthropicErrors.RateLimit;
        if (reader.ValueTextEquals("invalid_request_error"u8)) return AnthropicErrors.InvalidRequest;
        if (reader.ValueTextEquals("authentication_error"u8)) return AnthropicErrors.Authentication;
        if (reader.ValueTextEquals("permission_error"u8)) return AnthropicErrors.Permission;
        if (reader.ValueTextEquals("not_found_error"u8)) return AnthropicErrors.NotFound;
        if (reader.ValueTextEquals("request_too_large"u8)) return AnthropicErrors.RequestTooLarge;
        if (reader.ValueTextEquals("timeout_error"u8)) return AnthropicErrors.Timeout;
        if (reader.ValueTextEquals("billing_error"u8)) return AnthropicErrors.Billing;
        return reader.GetString() ?? AnthropicErrors.Api;
    }
}
