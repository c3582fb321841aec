using System.Buffers;
using System.Text.Json;
using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Streaming;

/// <summary>
/// Reads usage from a non-streaming response: the bytes are copied to the client as they arrive and also kept
/// (pooled, bounded) so that the top-level <c>usage</c>, <c>model</c>, <c>stop_reason</c> and an error's
/// <c>error.type</c> can be read once the body is complete.
/// </summary>
internal sealed class JsonUsageReader : IDisposable
{
    private const int MaxCapturedBytes = 16 * 1024 * 1024;
    private static readonly JsonReaderOptions JsonOptions = new() { MaxDepth = 256 };

    private readonly ModelNameTable _names;
    private byte[]? _buffer;
    private int _length;

    public JsonUsageReader(ModelNameTable names) => _names = names;

    public ResponseUsage Usage;

    public string? ResponseModel { get; private set; }

    public string? StopReason { get; private set; }

    public string? ErrorType { get; private set; }

    /// <summary>The top-level <c>id</c> (a message, batch or file id).</summary>
    public string? ResponseId { get; private set; }

    /// <summary>The body was larger than the capture limit, so usage could not be read.</summary>
    public bool Overflowed { get; private set; }

    public void Append(ReadOnlySpan<byte> chunk)
    {
        if (Overflowed || chunk.IsEmpty)
        {
            return;
        }

        if (_length + chunk.Length > MaxCapturedBytes)
        {
            Overflowed = true;
            Release();
            return;
        }

        if (_buffer is null || _buffer.Length - _length < chunk.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_length + chunk.Length, Math.Min(MaxCapturedBytes, Math.Max(4096, (_buffer?.Length ?? 0) * 2))));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, _length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = larger;
        }

        chunk.CopyTo(_buffer.AsSpan(_length));
        _length += chunk.Length;
    }

    /// <summary>Parses what was captured; returns false when the body was not a readable JSON object.</summary>
    public bool Complete()
    {
        if (_buffer is null || Overflowed)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(0, _length), JsonOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
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
                else if (reader.ValueTextEquals("stop_reason"u8))
                {
                    reader.Read();
                    StopReason = StopReasons.Read(ref reader);
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    ResponseId = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    ReadError(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        finally
        {
            Release();
        }
    }

    private void ReadError(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isType = reader.ValueTextEquals("type"u8);
            reader.Read();
            if (isType && reader.TokenType == JsonTokenType.String)
            {
                ErrorType = ErrorTypes.Intern(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private void Release()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _length = 0;
    }

    public void Dispose() => Release();
}
