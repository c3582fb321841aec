using System.Net;
using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Tests;

/// <summary>The exact bytes on the wire: SSE framing, event order and headers, per wire doc §0–§2, §4 and §6.</summary>
public sealed class SseFramingTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>
{
    private const string ToolAndThinkingRequest = """
        {"model":"claude-sonnet-4-5-20250929","max_tokens":4096,"stream":true,
         "thinking":{"type":"enabled","budget_tokens":1024},
         "tools":[{"name":"get_time","input_schema":{"type":"object","properties":{"zone":{"type":"string"}},"required":["zone"]}}],
         "messages":[{"role":"user","content":[{"type":"text","text":"what time is it, use get_time"}]}]}
        """;

    [Fact]
    public async Task Anthropic_stream_frames_all_name_their_event_and_follow_the_documented_order()
    {
        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", ToolAndThinkingRequest, headers: ("x-sim-output-tokens", "3")));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
        Assert.StartsWith("req_", response.Headers.GetValues("request-id").Single());
        Assert.False(response.Headers.Contains("Server"));

        var frames = SseFrame.Parse(body);
        Assert.All(frames, frame =>
        {
            Assert.NotNull(frame.Event);
            Assert.Equal(frame.Event, frame.Json.GetProperty("type").GetString());
        });

        var names = frames.Select(f => f.Event).ToList();
        Assert.Equal("message_start", names[0]);
        Assert.Equal("content_block_start", names[1]);
        Assert.Equal("ping", names[2]);
        Assert.Single(names, n => n == "ping");
        Assert.Equal("message_delta", names[^2]);
        Assert.Equal("message_stop", names[^1]);

        var start = frames[0].Json.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, start.GetProperty("stop_reason").ValueKind);
        Assert.Equal(0, start.GetProperty("content").GetArrayLength());
        foreach (var field in new[] { "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens" })
        {
            Assert.True(start.GetProperty("usage").TryGetProperty(field, out _), field);
        }

        // Blocks: thinking (0), text (1), tool_use (2); each start → deltas → stop, never interleaved.
        var blockTypes = new List<string>();
        var open = -1;
        foreach (var frame in frames.Skip(1).SkipLast(2))
        {
            var json = frame.Json;
            switch (frame.Event)
            {
                case "content_block_start":
                    Assert.Equal(-1, open);
                    open = json.GetProperty("index").GetInt32();
                    Assert.Equal(blockTypes.Count, open);
                    blockTypes.Add(json.GetProperty("content_block").GetProperty("type").GetString()!);
                    break;
                case "content_block_delta":
                    Assert.Equal(open, json.GetProperty("index").GetInt32());
                    var expectedDelta = blockTypes[open] switch
                    {
                        "thinking" => new[] { "thinking_delta", "signature_delta" },
                        "text" => ["text_delta"],
                        _ => ["input_json_delta"],
                    };
                    Assert.Contains(json.GetProperty("delta").GetProperty("type").GetString(), expectedDelta);
                    break;
                case "content_block_stop":
                    Assert.Equal(open, json.GetProperty("index").GetInt32());
                    open = -1;
                    break;
                case "ping":
                    break;
                default:
                    Assert.Fail($"Unexpected event {frame.Event}");
                    break;
            }
        }

        Assert.Equal(["thinking", "text", "tool_use"], blockTypes);
        var lastThinkingDelta = frames.Last(f => f.Event == "content_block_delta" && f.Json.GetProperty("index").GetInt32() == 0);
        Assert.Equal("signature_delta", lastThinkingDelta.Json.GetProperty("delta").GetProperty("type").GetString());
        var firstJson = frames.First(f => f.Event == "content_block_delta" && f.Json.GetProperty("index").GetInt32() == 2);
        Assert.Equal("", firstJson.Json.GetProperty("delta").GetProperty("partial_json").GetString());

        var delta = frames[^2].Json;
        Assert.Equal("tool_use", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(JsonValueKind.Null, delta.GetProperty("delta").GetProperty("stop_sequence").ValueKind);
        Assert.True(delta.GetProperty("usage").GetProperty("output_tokens").GetInt32() > 3);
        Assert.Equal(start.GetProperty("usage").GetProperty("input_tokens").GetInt32(), delta.GetProperty("usage").GetProperty("input_tokens").GetInt32());
    }

    [Fact]
    public async Task A_reply_without_content_still_starts_pings_and_stops()
    {
        var request = """{"model":"m","max_tokens":0,"stream":true,"messages":[{"role":"user","content":"warm the cache"}]}""";

        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", request));
        var frames = SseFrame.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(["message_start", "ping", "message_delta", "message_stop"], frames.Select(f => f.Event!));
        Assert.Equal("max_tokens", frames[2].Json.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(0, frames[2].Json.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task Words_per_delta_groups_words_into_fewer_text_deltas()
    {
        var request = """{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"a b c d e"}]}""";

        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", request, headers: [("x-sim-output-tokens", "10"), ("x-sim-words-per-delta", "4")]));
        var deltas = SseFrame.Parse(await response.Content.ReadAsStringAsync())
            .Where(f => f.Event == "content_block_delta")
            .Select(f => f.Json.GetProperty("delta").GetProperty("text").GetString())
            .ToList();

        Assert.Equal(["a b c d", " e a b c", " d e"], deltas);
    }

    [Fact]
    public async Task Recorded_response_bytes_equal_the_bytes_on_the_wire()
    {
        const string tag = "framing-bytes";
        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages", ToolAndThinkingRequest, headers: ("x-sim-request-tag", tag)));
        var wire = await response.Content.ReadAsByteArrayAsync();

        var recorded = await sim.Http.GetByteArrayAsync($"/sim/requests/{tag}/body");

        Assert.Equal(wire, recorded);
        var requestBody = await sim.Http.GetStringAsync($"/sim/requests/{tag}/request-body");
        Assert.Equal(ToolAndThinkingRequest, requestBody);
    }

    [Fact]
    public async Task OpenAi_stream_is_data_only_with_a_usage_chunk_before_done()
    {
        var request = """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello openai"}]}""";

        using var response = await sim.Http.SendAsync(sim.OpenAiPost(request, ("x-sim-output-tokens", "2")));
        var frames = SseFrame.Parse(await response.Content.ReadAsStringAsync());

        Assert.StartsWith("text/event-stream", response.Content.Headers.ContentType!.ToString());
        Assert.StartsWith("req_", response.Headers.GetValues("x-request-id").Single());
        Assert.All(frames, f => Assert.Null(f.Event));
        Assert.Equal("[DONE]", frames[^1].Data);
        var chunks = frames.SkipLast(1).Select(f => f.Json).ToList();
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.Single(chunks.Select(c => c.GetProperty("created").GetInt64()).Distinct());
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));

        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(["hello", " openai"], chunks.Skip(1).Take(2).Select(c => c.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()));
        var finish = chunks[^2];
        Assert.Equal("stop", finish.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));

        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(2, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(Expected.Tokens("hello openai"), usage.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task OpenAi_stream_without_include_usage_has_no_usage_at_all()
    {
        var request = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"no usage please"}]}""";

        using var response = await sim.Http.SendAsync(sim.OpenAiPost(request));
        var frames = SseFrame.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("[DONE]", frames[^1].Data);
        Assert.All(frames.SkipLast(1), f =>
        {
            Assert.False(f.Json.TryGetProperty("usage", out _));
            Assert.Equal(1, f.Json.GetProperty("choices").GetArrayLength());
        });
    }

    [Fact]
    public async Task Legacy_completion_streams_completion_events_and_a_final_stop()
    {
        var request = """{"model":"claude-2.1","max_tokens_to_sample":50,"stream":true,"prompt":"\n\nHuman: sing a song\n\nAssistant:"}""";

        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/complete", request, headers: ("x-sim-output-tokens", "3")));
        var frames = SseFrame.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(["completion", "ping", "completion", "completion", "completion"], frames.Select(f => f.Event!));
        var completions = frames.Where(f => f.Event == "completion").Select(f => f.Json).ToList();
        Assert.Equal(" sing a song", string.Concat(completions.Select(c => c.GetProperty("completion").GetString())));
        Assert.All(completions.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("stop_reason").ValueKind));
        Assert.Equal("stop_sequence", completions[^1].GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task Non_streaming_replies_are_json_with_a_content_length()
    {
        var request = """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"json please"}]}""";

        using var response = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages?beta=true", request));
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("message", json.RootElement.GetProperty("type").GetString());
        Assert.Equal("5f3c2a8e-0d4b-4c61-9a7e-51ab7c0de001", response.Headers.GetValues("anthropic-organization-id").Single());
    }
}
