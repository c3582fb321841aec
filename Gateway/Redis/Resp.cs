using System.Buffers;
using System.Buffers.Text;
using System.Text;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Redis;

/// <summary>The RESP2 wire format: commands out (arrays of bulk strings), replies in.</summary>
internal static class Resp
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    public static void WriteArrayHeader(IBufferWriter<byte> output, int count) => WriteLine(output, (byte)'*', count);

    public static void WriteBulk(IBufferWriter<byte> output, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteLine(output, (byte)'$', length);
        var span = output.GetSpan(length + 2);
        Encoding.UTF8.GetBytes(value, span);
        Crlf.CopyTo(span[length..]);
        output.Advance(length + 2);
    }

    public static void WriteBulk(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        WriteLine(output, (byte)'$', value.Length);
        var span = output.GetSpan(value.Length + 2);
        value.CopyTo(span);
        Crlf.CopyTo(span[value.Length..]);
        output.Advance(value.Length + 2);
    }

    public static void WriteBulk(IBufferWriter<byte> output, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var written);
        WriteBulk(output, digits[..written]);
    }

    public static void WriteBulk(IBufferWriter<byte> output, RedisKey key) => WriteBulk(output, (byte[])key!);

    public static void WriteBulk(IBufferWriter<byte> output, RedisValue value)
    {
        if (value.IsInteger)
        {
            WriteBulk(output, (long)value);
        }
        else if (value.IsNull)
        {
            WriteBulk(output, ReadOnlySpan<byte>.Empty);
        }
        else if (value.Box() is string text)
        {
            // Encoded straight into the output: the implicit conversion to byte[] allocates a copy per argument.
            WriteBulk(output, text);
        }
        else
        {
            WriteBulk(output, (byte[])value!);
        }
    }

    private static void WriteLine(IBufferWriter<byte> output, byte prefix, long number)
    {
        var span = output.GetSpan(24);
        span[0] = prefix;
        Utf8Formatter.TryFormat(number, span[1..], out var written);
        Crlf.CopyTo(span[(1 + written)..]);
        output.Advance(1 + written + 2);
    }

    /// <summary>
    /// Reads one complete reply starting at <paramref name="position"/>; false (and the position unchanged) when the
    /// buffer does not hold all of it yet. A malformed stream throws <see cref="RespProtocolException"/>.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> buffer, ref int position, out RespReply reply)
    {
        reply = RespReply.Nil;
        var p = position;
        if (!TryReadCore(buffer, ref p, out reply, depth: 0))
        {
            return false;
        }

        position = p;
        return true;
    }

    private static bool TryReadCore(ReadOnlySpan<byte> buffer, ref int position, out RespReply reply, int depth)
    {
        reply = RespReply.Nil;
        if (position >= buffer.Length)
        {
            return false;
        }

        var end = buffer[(position + 1)..].IndexOf(Crlf);
        if (end < 0)
        {
            return false;
        }

        var prefix = buffer[position];
        var line = buffer.Slice(position + 1, end);
        var next = position + 1 + end + 2;
        switch (prefix)
        {
            case (byte)'+':
                reply = RespReply.Simple(line.ToArray());
                break;
            case (byte)'-':
                reply = RespReply.Error(line.ToArray());
                break;
            case (byte)':':
                reply = RespReply.Integer(ParseNumber(line));
                break;
            case (byte)'$':
            {
                var length = ParseNumber(line);
                if (length >= 0)
                {
                    if (length > buffer.Length - next - 2)
                    {
                        return false;
                    }

                    reply = RespReply.Bulk(buffer.Slice(next, (int)length).ToArray());
                    next += (int)length + 2;
                }

                break;
            }

            case (byte)'*':
            {
                var count = ParseNumber(line);
                if (count >= 0)
                {
                    if (depth > 32 || count > 1_000_000)
                    {
                        throw new RespProtocolException($"Redis sent an array of {count} items at depth {depth}.");
                    }

                    var items = new RespReply[count];
                    for (var i = 0; i < items.Length; i++)
                    {
                        if (!TryReadCore(buffer, ref next, out items[i], depth + 1))
                        {
                            return false;
                        }
                    }

                    reply = RespReply.Array(items);
                }

                break;
            }

            default:
                throw new RespProtocolException($"Unexpected byte 0x{prefix:x2} at the start of a Redis reply.");
        }

        position = next;
        return true;
    }

    private static long ParseNumber(ReadOnlySpan<byte> line) =>
        Utf8Parser.TryParse(line, out long value, out var consumed) && consumed == line.Length
            ? value
            : throw new RespProtocolException("Redis sent a malformed number.");
}
