using System.Text;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Streaming;

namespace LlmGateway.Gateway.Tests.Unit;

public class SseUsageReaderTests
{
    // The documented "basic streaming request", verbatim, with cache fields added to message_start.
    internal const string TextStream =
        "event: message_start\n" +
        "data: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_1\", \"type\": \"message\", \"role\": \"assistant\", \"content\": [], \"model\": \"claude-sonnet-4-5-20250929\", \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"cache_creation_input_tokens\": 7, \"cache_read_input_tokens\": 3, \"output_tokens\": 1}}}\n\n" +
        "event: content_block_start\n" +
        "data: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"text\", \"text\": \"\"}}\n\n" +
        "event: ping\n" +
        "data: {\"type\": \"ping\"}\n\n" +
        "event: content_block_delta\n" +
        "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"Hello\"}}\n\n" +
        "event: content_block_delta\n" +
        "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"!\"}}\n\n" +
        "event: content_block_stop\n" +
        "data: {\"type\": \"content_block_stop\", \"index\": 0}\n\n" +
        "event: message_delta\n" +
        "data: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", \"stop_sequence\":null}, \"usage\": {\"output_tokens\": 15}}\n\n" +
        "event: message_stop\n" +
        "data: {\"type\": \"message_stop\"}\n\n";

    /// <summary>Feeds the stream in chunks of the given size, the way the copier does, and returns the released bytes.</summary>
    private static (SseUsageReader Reader, byte[] Released) Feed(byte[] stream, int chunk)
    {
        var reader = new SseUsageReader(new ModelNameTable());
        var pending = new List<byte>();
        var released = new List<byte>();
        for (var offset = 0; offset < stream.Length; offset += chunk)
        {
            pending.AddRange(stream.AsSpan(offset, Math.Min(chunk, stream.Length - offset)).ToArray());
            var complete = reader.Scan(pending.ToArray());
            released.AddRange(pending.Take(complete));
            pending.RemoveRange(0, complete);
        }

        var last = reader.ScanToEnd(pending.ToArray());
        released.AddRange(pending.Take(last));

        return (reader, released.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(100_000)]
    public void Usage_is_read_on_the_side_and_every_byte_is_released_unchanged(int chunk)
    {
        var bytes = Encoding.UTF8.GetBytes(TextStream);
        var (reader, released) = Feed(bytes, chunk);

        Assert.Equal(bytes, released);
        Assert.True(reader.Completed);
        Assert.Equal(8, reader.Events);
        Assert.Equal(25, reader.Usage.InputTokens);
        Assert.Equal(15, reader.Usage.OutputTokens);
        Assert.Equal(7, reader.Usage.CacheCreationInputTokens);
        Assert.Equal(3, reader.Usage.CacheReadInputTokens);
        Assert.Equal("claude-sonnet-4-5-20250929", reader.ResponseModel);
        Assert.Equal("end_turn", reader.StopReason);
        Assert.Null(reader.ErrorType);
        Assert.True(reader.AtEventBoundary);
    }

    [Fact]
    public void Only_complete_events_are_released()
    {
        var reader = new SseUsageReader(new ModelNameTable());
        var first = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n";
        var partial = "event: content_block_delta\ndata: {\"type\":\"content_block_del";
        var bytes = Encoding.UTF8.GetBytes(first + partial);

        Assert.Equal(Encoding.UTF8.GetByteCount(first), reader.Scan(bytes));
        Assert.False(reader.AtEventBoundary);
        Assert.Equal(9, reader.Usage.InputTokens);
        Assert.False(reader.Completed);
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Other_line_endings_are_understood(string newline)
    {
        var bytes = Encoding.UTF8.GetBytes(TextStream.Replace("\n", newline));
        foreach (var chunk in new[] { 1, 3, 1000 })
        {
            var (reader, released) = Feed(bytes, chunk);
            Assert.Equal(bytes, released);
            Assert.True(reader.Completed);
            Assert.Equal(15, reader.Usage.OutputTokens);
        }
    }

    [Fact]
    public void Tool_use_streams_report_tool_use_and_cumulative_usage()
    {
        const string stream =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-opus-4-6\",\"usage\":{\"input_tokens\":400,\"output_tokens\":1}}}\n\n" +
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n" +
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n\n" +
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":401,\"output_tokens\":89}}\n\n" +
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        var (reader, _) = Feed(Encoding.UTF8.GetBytes(stream), 5);
        Assert.Equal("tool_use", reader.StopReason);
        Assert.Equal(401, reader.Usage.InputTokens);
        Assert.Equal(89, reader.Usage.OutputTokens);
        Assert.True(reader.Completed);
    }

    [Fact]
    public void An_error_event_is_recognised()
    {
        const string stream =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
            "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
        var (reader, _) = Feed(Encoding.UTF8.GetBytes(stream), 11);
        Assert.Equal("overloaded_error", reader.ErrorType);
        Assert.False(reader.Completed);
    }

    [Fact]
    public void A_cut_stream_estimates_output_from_the_deltas_seen()
    {
        var text = new string('x', 400);
        var stream =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n" +
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + text + "\"}}\n\n";
        var (reader, _) = Feed(Encoding.UTF8.GetBytes(stream), 4096);
        Assert.False(reader.Completed);
        Assert.Equal(12, reader.Usage.InputTokens);
        Assert.InRange(reader.EstimateOutputTokens(), 90, 110);
    }

    [Fact]
    public void Comments_data_only_frames_and_multi_line_data_do_not_confuse_the_reader()
    {
        const string stream =
            ": keep-alive comment\n\n" +
            "data: {\"type\":\"unnamed\"}\n\n" +
            "event: message_delta\ndata: {\"type\":\"message_delta\",\n" +
            "data: \"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":33}}\n\n" +
            "event: message_stop\ndata: {}\n\n";
        var (reader, released) = Feed(Encoding.UTF8.GetBytes(stream), 3);
        Assert.Equal(stream, Encoding.UTF8.GetString(released));
        Assert.Equal("max_tokens", reader.StopReason);
        Assert.Equal(33, reader.Usage.OutputTokens);
        Assert.True(reader.Completed);
    }

    [Fact]
    public void A_malformed_event_is_skipped_without_stopping_the_stream()
    {
        const string stream =
            "event: message_start\ndata: {not json\n\n" +
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        var (reader, released) = Feed(Encoding.UTF8.GetBytes(stream), 1000);
        Assert.Equal(stream.Length, released.Length);
        Assert.True(reader.Completed);
        Assert.False(reader.Usage.Reported);
    }

    [Fact]
    public void Legacy_completion_streams_complete_on_their_final_event()
    {
        const string stream =
            "event: completion\ndata: {\"type\":\"completion\",\"completion\":\" Hi\",\"stop_reason\":null,\"model\":\"claude-2.1\"}\n\n" +
            "event: completion\ndata: {\"type\":\"completion\",\"completion\":\"\",\"stop_reason\":\"stop_sequence\",\"model\":\"claude-2.1\"}\n\n";
        var (reader, _) = Feed(Encoding.UTF8.GetBytes(stream), 9);
        Assert.True(reader.Completed);
        Assert.Equal("stop_sequence", reader.StopReason);
    }
}
