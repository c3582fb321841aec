using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace LlmGateway.Gateway.Redis;

internal enum RespType : byte
{
    SimpleString,
    Error,
    Integer,
    BulkString,
    Array,
    Null,
}

/// <summary>One RESP2 reply: a simple string, an error, an integer, a bulk string, an array, or nil.</summary>
internal sealed class RespReply
{
    public static readonly RespReply Nil = new(RespType.Null, 0, null, null);

    private readonly long _integer;
    private readonly byte[]? _bytes;
    private readonly RespReply[]? _items;

    private RespReply(RespType type, long integer, byte[]? bytes, RespReply[]? items)
    {
        Type = type;
        _integer = integer;
        _bytes = bytes;
        _items = items;
    }

    public RespType Type { get; }

    public bool IsError => Type == RespType.Error;

    public bool IsNull => Type == RespType.Null;

    public int Count => _items?.Length ?? 0;

    public RespReply this[int index] => (_items ?? throw Mismatch("an array"))[index];

    public static RespReply Integer(long value) => new(RespType.Integer, value, null, null);

    public static RespReply Simple(byte[] text) => new(RespType.SimpleString, 0, text, null);

    public static RespReply Error(byte[] text) => new(RespType.Error, 0, text, null);

    public static RespReply Bulk(byte[] value) => new(RespType.BulkString, 0, value, null);

    public static RespReply Array(RespReply[] items) => new(RespType.Array, 0, null, items);

    /// <summary>The value as a number: an integer reply, or a string holding one (Lua numbers arrive as integers).</summary>
    public long AsInt64()
    {
        switch (Type)
        {
            case RespType.Integer:
                return _integer;
            case RespType.BulkString or RespType.SimpleString when Utf8Parser.TryParse(_bytes, out long parsed, out var consumed) && consumed == _bytes!.Length:
                return parsed;
            case RespType.Null:
                return 0;
            default:
                throw Mismatch("an integer");
        }
    }

    public string? AsString() => Type switch
    {
        RespType.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        RespType.Null => null,
        RespType.Array => throw Mismatch("a string"),
        _ => Encoding.UTF8.GetString(_bytes!),
    };

    public override string ToString() => Type switch
    {
        RespType.Array => "[" + string.Join(", ", _items!.Select(i => i.ToString())) + "]",
        RespType.Null => "(nil)",
        RespType.Error => "(error) " + AsString(),
        _ => AsString()!,
    };

    private InvalidCastException Mismatch(string expected) => new($"Redis replied {Type} where {expected} was expected.");
}
