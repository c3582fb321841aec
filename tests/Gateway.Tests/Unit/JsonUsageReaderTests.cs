using System.Text;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Streaming;

namespace LlmGateway.Gateway.Tests.Unit;

public class JsonUsageReaderTests
{
    [Fact]
    public void Usage_model_and_stop_reason_are_read_from_a_message_delivered_in_pieces()
    {
        const string body = """
            {"model":"claude-opus-4-6",
             "usage":{"input_tokens":9,"output_tokens":21,"cache_creation_input_tokens":2,"cache_read_input_tokens":4,
                      "cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"service_tier":"standard"},
             "content":[{"text":"Hi there! \"usage\": {\"output_tokens\": 999}","type":"text"}],
             "id":"msg_01","type":"message","role":"assistant","stop_reason":"end_turn","stop_sequence":null}
            """;
        using var reader = new JsonUsageReader(new ModelNameTable());
        var bytes = Encoding.UTF8.GetBytes(body);
        for (var i = 0; i < bytes.Length; i += 13)
        {
            reader.Append(bytes.AsSpan(i, Math.Min(13, bytes.Length - i)));
        }

        Assert.True(reader.Complete());
        Assert.Equal(9, reader.Usage.InputTokens);
        Assert.Equal(21, reader.Usage.OutputTokens);
        Assert.Equal(2, reader.Usage.CacheCreationInputTokens);
        Assert.Equal(4, reader.Usage.CacheReadInputTokens);
        Assert.Equal("claude-opus-4-6", reader.ResponseModel);
        Assert.Equal("end_turn", reader.StopReason);
        Assert.Null(reader.ErrorType);
    }

    [Fact]
    public void The_error_type_of_an_error_body_is_read()
    {
        using var reader = new JsonUsageReader(new ModelNameTable());
        reader.Append("""{"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"req_1"}"""u8);
        Assert.True(reader.Complete());
        Assert.Equal("rate_limit_error", reader.ErrorType);
        Assert.False(reader.Usage.Reported);
    }

    [Fact]
    public void A_body_that_is_not_json_is_reported_as_unreadable()
    {
        using var reader = new JsonUsageReader(new ModelNameTable());
        reader.Append("<html>bad gateway</html>"u8);
        Assert.False(reader.Complete());
    }
}
