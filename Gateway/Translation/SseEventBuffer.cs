using System.Buffers;
using System.Text;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// Frames server-sent events for the stream translators: bytes go in as they arrive (split anywhere), whole events come
/// out (name and data, several <c>data:</c> lines joined by LF). Only the unfinished tail is kept between calls.
/// LF and CRLF line ends are understood.
/// </summary>
internal sealed class SseEventBuffer
{
    private readonly ArrayBufferWriter<byte> _pending = new(1024);
    private readonly ArrayBufferWriter<byte> _data = new(1024);
    private int _consumed;

    /// <summary>Bytes of an event not yet complete.</summary>
    public int PendingBytes => _pending.WrittenCount - _consumed;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (_consumed > 0)
        {
            // Keep only the unfinished tail before adding more.
            var tail = _pending.WrittenSpan[_consumed..].ToArray();
            _pending.Clear();
            _pending.Write(tail);
            _consumed = 0;
        }

        _pending.Write(bytes);
    }

    /// <summary>The next complete event; <paramref name="data"/> is valid until the next call.</summary>
    public bool TryRead(out string? name, out ReadOnlySpan<byte> data)
    {
        name = null;
        data = default;
        var buffer = _pending.WrittenSpan[_consumed..];
        var position = 0;
        var hasData = false;
        _data.Clear();
        while (true)
        {
            var newline = buffer[position..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                return false;
            }

            var line = buffer.Slice(position, newline);
            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            position += newline + 1;
            if (line.IsEmpty)
            {
                if (!hasData && name is null)
                {
                    // Blank lines between events.
                    _consumed += position;
                    buffer = buffer[position..];
                    position = 0;
                    continue;
                }

                _consumed += position;
                data = _data.WrittenSpan;
                return true;
            }

            if (line[0] == (byte)':')
            {
                continue;
            }

            if (line.StartsWith("event:"u8))
            {
                name = Encoding.UTF8.GetString(TrimSpace(line[6..]));
            }
            else if (line.StartsWith("data:"u8))
            {
                if (hasData)
                {
                    _data.Write("\n"u8);
                }

                _data.Write(TrimSpace(line[5..]));
                hasData = true;
            }
        }
    }

    private static ReadOnlySpan<byte> TrimSpace(ReadOnlySpan<byte> value) => value.Length > 0 && value[0] == (byte)' ' ? value[1..] : value;
}
