using System.Buffers;
using System.Text;
using System.Text.Json;
using LlmGateway.Gateway.Translation;

namespace LlmGateway.Gateway.Tests.Translation;

/// <summary>OpenAI Chat Completions ↔ Anthropic Messages, for an OpenAI caller of a Claude model.</summary>
public sealed class ChatCompletionsTranslatorTests
{
    private static (JsonElement Body, ChatCompletionsRequest Request) Translate(string json, int defaultMaxTokens = 4096)
    {
        var output = new ArrayBufferWriter<byte>();
        var error = ChatCompletionsRequestTranslator.Translate(Encoding.UTF8.GetBytes(json), defaultMaxTokens, output, out var request);
        Assert.Null(error);
        return (JsonDocument.Parse(output.WrittenMemory).RootElement.Clone(), request);
    }

    private static TranslationError Refuse(string json)
    {
        var error = ChatCompletionsRequestTranslator.Translate(Encoding.UTF8.GetBytes(json), 4096, new ArrayBufferWriter<byte>(), out _);
        Assert.NotNull(error);
        return error;
    }

    [Fact]
    public void System_and_developer_messages_become_the_system_prompt_and_turns_merge()
    {
        var (body, request) = Translate("""
            {"model":"claude-x","max_completion_tokens":50,"temperature":1.7,"top_p":0.9,"stop":"END","user":"u1",
             "messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"Use French."}]},
                         {"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]}]}
            """);
        Assert.Equal(50, request.MaxTokens);
        Assert.Equal(50, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(["Be brief.", "Use French."], body.GetProperty("system").EnumerateArray().Select(b => b.GetProperty("text").GetString()));
        var messages = body.GetProperty("messages");
        Assert.Equal(1, messages.GetArrayLength());
        Assert.Equal(2, messages[0].GetProperty("content").GetArrayLength());
        Assert.Equal(1.0, body.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble());
        Assert.Equal("END", body.GetProperty("stop_sequences")[0].GetString());
        Assert.Equal("u1", body.GetProperty("metadata").GetProperty("user_id").GetString());
        Assert.False(body.TryGetProperty("stream", out _));
    }

    [Fact]
    public void Max_tokens_defaults_and_legacy_max_tokens_is_honoured()
    {
        Assert.Equal(1234, Translate("""{"model":"m","messages":[{"role":"user","content":"x"}]}""", 1234).Body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(7, Translate("""{"model":"m","max_tokens":7,"messages":[{"role":"user","content":"x"}]}""").Request.MaxTokens);
        Assert.Equal("max_tokens", Refuse("""{"model":"m","max_tokens":7,"max_completion_tokens":8,"messages":[{"role":"user","content":"x"}]}""").Param);
        Assert.Equal("max_completion_tokens", Refuse("""{"model":"m","max_completion_tokens":0,"messages":[{"role":"user","content":"x"}]}""").Param);
    }

    [Fact]
    public void Tools_tool_calls_and_tool_results_map_to_tool_use_and_tool_result()
    {
        var (body, _) = Translate("""
            {"model":"m","parallel_tool_calls":false,"tool_choice":{"type":"function","function":{"name":"get_weather"}},
             "tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
                      {"type":"function","function":{"name":"now"}}],
             "messages":[{"role":"user","content":"weather?"},
                         {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
                         {"role":"tool","tool_call_id":"call_1","content":"sunny"},{"role":"user","content":"thanks"}]}
            """);
        var tools = body.GetProperty("tools");
        Assert.Equal("object", tools[0].GetProperty("input_schema").GetProperty("type").GetString());
        Assert.Equal("object", tools[1].GetProperty("input_schema").GetProperty("type").GetString());
        var choice = body.GetProperty("tool_choice");
        Assert.Equal("tool", choice.GetProperty("type").GetString());
        Assert.Equal("get_weather", choice.GetProperty("name").GetString());
        Assert.True(choice.GetProperty("disable_parallel_tool_use").GetBoolean());
        var messages = body.GetProperty("messages");
        Assert.Equal(3, messages.GetArrayLength());
        var use = messages[1].GetProperty("content")[0];
        Assert.Equal("tool_use", use.GetProperty("type").GetString());
        Assert.Equal("Paris", use.GetProperty("input").GetProperty("city").GetString());
        var result = messages[2].GetProperty("content");
        Assert.Equal("tool_result", result[0].GetProperty("type").GetString());
        Assert.Equal("call_1", result[0].GetProperty("tool_use_id").GetString());
        Assert.Equal("thanks", result[1].GetProperty("text").GetString());

        Assert.Equal("any", Translate("""{"model":"m","tool_choice":"required","tools":[{"type":"function","function":{"name":"t"}}],"messages":[{"role":"user","content":"x"}]}""")
            .Body.GetProperty("tool_choice").GetProperty("type").GetString());
    }

    [Fact]
    public void Images_become_base64_or_url_sources()
    {
        var (body, _) = Translate("""
            {"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
                                                                {"type":"image_url","image_url":{"url":"https://x.test/a.jpg","detail":"low"}}]}]}
            """);
        var content = body.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("base64", content[0].GetProperty("source").GetProperty("type").GetString());
        Assert.Equal("image/png", content[0].GetProperty("source").GetProperty("media_type").GetString());
        Assert.Equal("AAAA", content[0].GetProperty("source").GetProperty("data").GetString());
        Assert.Equal("https://x.test/a.jpg", content[1].GetProperty("source").GetProperty("url").GetString());
        Assert.Equal("invalid_image_format", Refuse("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AA"}}]}]}""").Code);
    }

    [Theory]
    [InlineData("""{"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}""", "n")]
    [InlineData("""{"model":"m","logprobs":true,"messages":[{"role":"user","content":"x"}]}""", "logprobs")]
    [InlineData("""{"model":"m","top_logprobs":2,"messages":[{"role":"user","content":"x"}]}""", "top_logprobs")]
    [InlineData("""{"model":"m","audio":{"voice":"alloy"},"messages":[{"role":"user","content":"x"}]}""", "audio")]
    [InlineData("""{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"x"}]}""", "response_format")]
    [InlineData("""{"model":"m","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}""", "stream_options")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", "model")]
    [InlineData("""{"model":"m"}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"role":"system","content":"x"}]}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"role":"robot","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{bad"}}]}]}""", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("""{"model":"m","tool_choice":"auto","messages":[{"role":"user","content":"x"}]}""", "tool_choice")]
    public void What_claude_cannot_honour_is_refused_naming_the_parameter(string json, string param) =>
        Assert.Equal(param, Refuse(json).Param);

    [Fact]
    public void A_message_becomes_a_chat_completion_with_usage_and_finish_reason()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.True(ChatCompletionsResponseTranslator.TryTranslate(Encoding.UTF8.GetBytes("""
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-x","stop_reason":"tool_use",
             "content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
             "usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":2,"cache_read_input_tokens":3}}
            """), 1700000000, output));
        var completion = JsonDocument.Parse(output.WrittenMemory).RootElement;
        Assert.Equal("chatcmpl-msg_1", completion.GetProperty("id").GetString());
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        var choice = completion.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("Let me check.", choice.GetProperty("message").GetProperty("content").GetString());
        var call = choice.GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal("toolu_1", call.GetProperty("id").GetString());
        Assert.Equal("Paris", JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!).RootElement.GetProperty("city").GetString());
        var usage = completion.GetProperty("usage");
        Assert.Equal(15, usage.GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt64());
        Assert.Equal(20, usage.GetProperty("total_tokens").GetInt64());
        Assert.Equal(3, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt64());
        Assert.False(ChatCompletionsResponseTranslator.TryTranslate(Encoding.UTF8.GetBytes("<html>"), 0, new ArrayBufferWriter<byte>()));
    }

    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("refusal", "content_filter")]
    public void Stop_reasons_map_to_finish_reasons(string stopReason, string finishReason) =>
        Assert.Equal(finishReason, FinishReasons.FromStopReason(stopReason));

    private const string ToolStream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_9","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"usage":{"input_tokens":20,"cache_read_input_tokens":4,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: ping
        data: {"type":"ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":1}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":30}}

        event: message_stop
        data: {"type":"message_stop"}


        """;

    [Fact]
    public void A_stream_is_translated_event_by_event_whatever_the_byte_boundaries()
    {
        var bytes = Encoding.UTF8.GetBytes(ToolStream.Replace("\r\n", "\n"));
        foreach (var step in new[] { 1, 7, bytes.Length })
        {
            var translator = new ChatCompletionsStreamTranslator(includeUsage: true, created: 1);
            var output = new ArrayBufferWriter<byte>();
            var afterFirstEvent = -1;
            for (var i = 0; i < bytes.Length; i += step)
            {
                translator.Translate(bytes.AsSpan(i, Math.Min(step, bytes.Length - i)), output);
                if (afterFirstEvent < 0 && output.WrittenCount > 0)
                {
                    afterFirstEvent = i;
                }
            }

            // Incremental: the role chunk leaves as soon as message_start is complete.
            Assert.True(afterFirstEvent < bytes.Length / 4);
            Assert.True(translator.Finished);
            var frames = Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("data: [DONE]", frames[^1]);
            var chunks = frames[..^1].Select(f => JsonDocument.Parse(f["data: ".Length..]).RootElement).ToList();
            Assert.All(chunks, c => Assert.Equal("chatcmpl-msg_9", c.GetProperty("id").GetString()));
            Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
            Assert.Equal("Hi", chunks[1].GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
            var start = chunks[2].GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0];
            Assert.Equal(0, start.GetProperty("index").GetInt32());
            Assert.Equal("toolu_1", start.GetProperty("id").GetString());
            Assert.Equal("get_weather", start.GetProperty("function").GetProperty("name").GetString());
            var arguments = string.Concat(chunks.Skip(3).SelectMany(c => c.GetProperty("choices").EnumerateArray())
                .Select(ch => ch.GetProperty("delta")).Where(d => d.TryGetProperty("tool_calls", out _))
                .Select(d => d.GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString()));
            Assert.Equal("{\"city\":\"Paris\"}", arguments);
            Assert.Equal("tool_calls", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            var usage = chunks[^1].GetProperty("usage");
            Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
            Assert.Equal(24, usage.GetProperty("prompt_tokens").GetInt64());
            Assert.Equal(30, usage.GetProperty("completion_tokens").GetInt64());
            Assert.Equal(4, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt64());
        }
    }

    [Fact]
    public void An_error_event_becomes_an_openai_error_chunk_without_done()
    {
        var translator = new ChatCompletionsStreamTranslator(includeUsage: false, created: 1);
        var output = new ArrayBufferWriter<byte>();
        translator.Translate(Encoding.UTF8.GetBytes("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"), output);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.DoesNotContain("[DONE]", text);
        var error = JsonDocument.Parse(text["data: ".Length..].Trim()).RootElement.GetProperty("error");
        Assert.Equal("Overloaded", error.GetProperty("message").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal("overloaded", error.GetProperty("code").GetString());
    }
}
