using System.Buffers;
using System.Text;
using LlmGateway.Gateway.Redis;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Redis;

/// <summary>The RESP2 reader and writer, byte for byte.</summary>
public sealed class RespTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Every_reply_type_is_read()
    {
        var buffer = Bytes("+OK\r\n-ERR bad thing\r\n:-42\r\n$5\r\nhello\r\n$-1\r\n*3\r\n:1\r\n*2\r\n$0\r\n\r\n$2\r\nhi\r\n*-1\r\n*-1\r\n");
        var position = 0;
        var replies = new List<RespReply>();
        while (Resp.TryRead(buffer, ref position, out var reply))
        {
            replies.Add(reply);
        }

        Assert.Equal(buffer.Length, position);
        Assert.Equal(7, replies.Count);
        Assert.Equal((RespType.SimpleString, "OK"), (replies[0].Type, replies[0].AsString()));
        Assert.True(replies[1].IsError);
        Assert.Equal("ERR bad thing", replies[1].AsString());
        Assert.Equal(-42, replies[2].AsInt64());
        Assert.Equal("hello", replies[3].AsString());
        Assert.True(replies[4].IsNull);
        Assert.Equal(3, replies[5].Count);
        Assert.Equal(1, replies[5][0].AsInt64());
        Assert.Equal("", replies[5][1][0].AsString());
        Assert.Equal("hi", replies[5][1][1].AsString());
        Assert.True(replies[5][2].IsNull);
        Assert.True(replies[6].IsNull);
    }

    [Fact]
    public void A_reply_cut_anywhere_is_incomplete_and_nothing_is_consumed()
    {
        var whole = Bytes("*2\r\n$5\r\nhello\r\n:12345\r\n");
        for (var cut = 0; cut < whole.Length; cut++)
        {
            var position = 0;
            Assert.False(Resp.TryRead(whole.AsSpan(0, cut), ref position, out _));
            Assert.Equal(0, position);
        }

        var complete = 0;
        Assert.True(Resp.TryRead(whole, ref complete, out var reply));
        Assert.Equal(12345, reply[1].AsInt64());
    }

    [Theory]
    [InlineData("?what\r\n")]
    [InlineData(":12x\r\n")]
    [InlineData("$abc\r\n")]
    public void Bytes_that_are_not_RESP_are_a_protocol_error(string text)
    {
        var position = 0;
        Assert.Throws<RespProtocolException>(() => Resp.TryRead(Bytes(text), ref position, out _));
    }

    [Fact]
    public void A_number_in_a_bulk_string_reads_as_a_number_and_a_mismatch_is_a_cast_error()
    {
        var position = 0;
        Resp.TryRead(Bytes("$3\r\n-17\r\n"), ref position, out var number);
        Assert.Equal(-17, number.AsInt64());

        position = 0;
        Resp.TryRead(Bytes("$3\r\nabc\r\n"), ref position, out var text);
        Assert.Throws<InvalidCastException>(() => text.AsInt64());
        Assert.Throws<InvalidCastException>(() => text[0]);
    }

    [Fact]
    public void Commands_are_arrays_of_bulk_strings()
    {
        var output = new ArrayBufferWriter<byte>();
        Resp.WriteArrayHeader(output, 6);
        Resp.WriteBulk(output, "SET");
        Resp.WriteBulk(output, (RedisKey)"k✓");
        Resp.WriteBulk(output, (RedisValue)(-12L));
        Resp.WriteBulk(output, (RedisValue)"v");
        Resp.WriteBulk(output, RedisValue.Null);
        Resp.WriteBulk(output, (RedisValue)new byte[] { 0, 13, 10 });

        Assert.Equal("*6\r\n$3\r\nSET\r\n$4\r\nk✓\r\n$3\r\n-12\r\n$1\r\nv\r\n$0\r\n\r\n$3\r\n\0\r\n\r\n", Encoding.UTF8.GetString(output.WrittenSpan));
    }
}
