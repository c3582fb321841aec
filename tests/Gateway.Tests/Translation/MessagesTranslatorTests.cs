using System.Buffers;
using System.Text;
using System.Text.Json;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Streaming;
using LlmGateway.Gateway.Translation;

namespace LlmGateway.Gateway.Tests.Translation;

/// <summary>Anthropic Messages ↔ OpenAI Chat Completions, for an Anthropic caller of an OpenAI-compatible upstream.</summary>
public sealed class MessagesTranslatorTests
{
    [Fact]
    public void A_messages_request_becomes_a_chat_completions_request()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Null(MessagesRequestTranslator.Translate(Encoding.UTF8.GetBytes("""
            {"model":"gpt-x","max_tokens":100,"stream":true,"system":[{"type":"text","text":"Be brief."}],"stop_sequences":["END"],
             "metadata":{"user_id":"u1"},"temperature":0.3,
             "tools":[{"name":"get_weather","description":"d","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
             "tool_choice":{"type":"any","disable_parallel_tool_use":true},
             "messages":[{"role":"user","content":[{"type":"text","text":"weather?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},
                         {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
                         {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"sunny"}]},{"type":"text","text":"thanks"}]}]}
            """), output));
        var body = JsonDocument.Parse(output.WrittenMemory).RootElement;
        Assert.Equal(100, body.GetProperty("max_tokens").GetInt32());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("END", body.GetProperty("stop")[0].GetString());
        Assert.Equal("u1", body.GetProperty("user").GetString());
        Assert.Equal("required", body.GetProperty("tool_choice").GetString());
        Assert.False(body.GetProperty("parallel_tool_calls").GetBoolean());
        Assert.Equal("object", body.GetProperty("tools")[0].GetProperty("function").GetProperty("parameters").GetProperty("type").GetString());
        var messages = body.GetProperty("messages");
        Assert.Equal(["system", "user", "assistant", "tool", "user"], messages.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("data:image/png;base64,AAAA", messages[1].GetProperty("content")[1].GetProperty("image_url").GetProperty("url").GetString());
        var call = messages[2].GetProperty("tool_calls")[0];
        Assert.Equal("toolu_1", call.GetProperty("id").GetString());
        Assert.Equal("Paris", JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!).RootElement.GetProperty("city").GetString());
        Assert.Equal("Checking.", messages[2].GetProperty("content").GetString());
        Assert.Equal("toolu_1", messages[3].GetProperty("tool_call_id").GetString());
        Assert.Equal("sunny", messages[3].GetProperty("content").GetString());

        Assert.NotNull(MessagesRequestTranslator.Translate(Encoding.UTF8.GetBytes("""{"model":"m","messages":[{"role":"system","content":"x"}]}"""), new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void A_chat_completion_becomes_a_message_the_usage_reader_meters()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.True(MessagesResponseTranslator.TryTranslate(Encoding.UTF8.GetBytes("""
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-x",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":5}}}
            """), output));
        var message = JsonDocument.Parse(output.WrittenMemory).RootElement;
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("tool_use", message.GetProperty("stop_reason").GetString());
        Assert.Equal("Let me check.", message.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("Paris", message.GetProperty("content")[1].GetProperty("input").GetProperty("city").GetString());

        using var reader = new JsonUsageReader(new ModelNameTable());
        reader.Append(output.WrittenSpan);
        Assert.True(reader.Complete());
        Assert.Equal(15, reader.Usage.InputTokens);
        Assert.Equal(5, reader.Usage.CacheReadInputTokens);
        Assert.Equal(9, reader.Usage.OutputTokens);
        Assert.Equal("tool_use", reader.StopReason);
    }

    private const string ChunkStream = """
        data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

        data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}

        data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}

        data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}

        data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}

        data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

        data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":8,"total_tokens":20}}

        data: [DONE]


        """;

    [Fact]
    public void A_chunk_stream_becomes_anthropic_events_in_order_and_metered()
    {
        var bytes = Encoding.UTF8.GetBytes(ChunkStream.Replace("\r\n", "\n"));
        var translator = new MessagesStreamTranslator();
        var output = new ArrayBufferWriter<byte>();
        for (var i = 0; i < bytes.Length; i += 5)
        {
            translator.Translate(bytes.AsSpan(i, Math.Min(5, bytes.Length - i)), output);
        }

        Assert.True(translator.Finished);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        var frames = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(frames, frame => Assert.StartsWith("event: ", frame));
        var events = frames.Select(f => JsonDocument.Parse(f[(f.IndexOf("data: ", StringComparison.Ordinal) + 6)..]).RootElement).ToList();
        Assert.Equal(
            ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta",
             "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal("tool_use", events[4].GetProperty("content_block").GetProperty("type").GetString());
        Assert.Equal(1, events[4].GetProperty("index").GetInt32());
        Assert.Equal("tool_use", events[8].GetProperty("delta").GetProperty("stop_reason").GetString());

        // The gateway's own SSE usage reader meters the translated stream like an Anthropic one.
        var reader = new SseUsageReader(new ModelNameTable());
        Assert.Equal(output.WrittenCount, reader.ScanToEnd(output.WrittenSpan));
        Assert.True(reader.Completed);
        Assert.Equal(12, reader.Usage.InputTokens);
        Assert.Equal(8, reader.Usage.OutputTokens);
        Assert.Equal("tool_use", reader.StopReason);
    }

    [Fact]
    public void An_error_chunk_becomes_an_error_event()
    {
        var translator = new MessagesStreamTranslator();
        var output = new ArrayBufferWriter<byte>();
        translator.Translate("data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n"u8, output);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.StartsWith("event: error\ndata: ", text);
        Assert.Contains("boom", text);
        Assert.True(translator.Finished);
    }
}
