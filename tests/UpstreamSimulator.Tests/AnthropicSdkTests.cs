using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;

namespace LlmGateway.UpstreamSimulator.Tests;

/// <summary>The official Anthropic C# SDK against the simulator: every reply must parse and accumulate cleanly.</summary>
public sealed class AnthropicSdkTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>
{
    private const string Model = "claude-sonnet-4-5-20250929";

    private static readonly Tool WeatherTool = new()
    {
        Name = "get_weather",
        Description = "Current weather for a city",
        InputSchema = new InputSchema
        {
            Properties = new Dictionary<string, JsonElement>
            {
                ["location"] = JsonSerializer.SerializeToElement(new { type = "string" }),
                ["unit"] = JsonSerializer.SerializeToElement(new { type = "string", @enum = new[] { "celsius", "fahrenheit" } }),
                ["days"] = JsonSerializer.SerializeToElement(new { type = "integer", minimum = 2 }),
                ["verbose"] = JsonSerializer.SerializeToElement(new { type = "boolean" }),
            },
            Required = ["location", "unit", "days"],
        },
    };

    private static MessageCreateParams Ask(string text, long maxTokens = 256) => new()
    {
        Model = Model,
        MaxTokens = maxTokens,
        Messages = [new UserMessageParam(text)],
    };

    private static Dictionary<string, string> Headers(params (string Name, string Value)[] headers) =>
        headers.ToDictionary(h => h.Name, h => h.Value);

    [Fact]
    public async Task Message_echoes_the_user_words_with_deterministic_usage()
    {
        var message = await sim.Anthropic().Messages.Create(Ask("one two three"));

        Assert.StartsWith("msg_01", message.ID);
        Assert.Equal(Model, message.Model.Raw());
        Assert.True(Assert.Single(message.Content).TryPickText(out var text));
        Assert.Equal(Expected.Text("one two three", 12), text.Text);
        Assert.Equal("end_turn", message.StopReason?.Raw());
        Assert.Null(message.StopSequence);
        Assert.Equal(Expected.Tokens("one two three"), message.Usage.InputTokens);
        Assert.Equal(12, message.Usage.OutputTokens);
        Assert.Equal(0, message.Usage.CacheReadInputTokens);
        Assert.Equal(0, message.Usage.CacheCreationInputTokens);
    }

    [Fact]
    public async Task Output_tokens_header_and_max_tokens_bound_the_reply()
    {
        var client = sim.Anthropic(Headers(("x-sim-output-tokens", "40")));

        var full = await client.Messages.Create(Ask("alpha beta"));
        var capped = await client.Messages.Create(Ask("alpha beta", maxTokens: 5));

        Assert.Equal(40, full.Usage.OutputTokens);
        Assert.Equal("end_turn", full.StopReason?.Raw());
        Assert.True(capped.Content[0].TryPickText(out var cappedText));
        Assert.Equal(Expected.Text("alpha beta", 5), cappedText.Text);
        Assert.Equal(5, capped.Usage.OutputTokens);
        Assert.Equal("max_tokens", capped.StopReason?.Raw());
    }

    [Fact]
    public async Task Stop_sequence_ends_the_reply_before_the_matching_word()
    {
        var request = Ask("red green blue") with { StopSequences = ["blue"] };

        var message = await sim.Anthropic().Messages.Create(request);

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("red green", text.Text);
        Assert.Equal("stop_sequence", message.StopReason?.Raw());
        Assert.Equal("blue", message.StopSequence);
    }

    [Fact]
    public async Task Cache_headers_are_reported_in_usage()
    {
        var client = sim.Anthropic(Headers(("x-sim-cache-read-tokens", "1200"), ("x-sim-cache-creation-tokens", "300")));

        var message = await client.Messages.Create(Ask("cached prompt"));

        Assert.Equal(1200, message.Usage.CacheReadInputTokens);
        Assert.Equal(300, message.Usage.CacheCreationInputTokens);
        Assert.Equal(300, message.Usage.CacheCreation?.Ephemeral5mInputTokens);
        Assert.Equal(Expected.Tokens("cached prompt"), message.Usage.InputTokens);
    }

    [Fact]
    public async Task Streamed_text_matches_the_non_streamed_reply_and_ends_with_cumulative_usage()
    {
        var client = sim.Anthropic(Headers(("x-sim-output-tokens", "7"), ("x-sim-cache-read-tokens", "50")));
        var request = Ask("the quick brown fox");

        var events = new List<RawMessageStreamEvent>();
        await foreach (var streamEvent in client.Messages.CreateStreaming(request))
        {
            events.Add(streamEvent);
        }

        Assert.True(events[0].TryPickStart(out var start));
        Assert.Equal(Expected.Tokens("the quick brown fox"), start.Message.Usage.InputTokens);
        Assert.Equal(50, start.Message.Usage.CacheReadInputTokens);
        Assert.Empty(start.Message.Content);

        var text = new StringBuilder();
        foreach (var streamEvent in events)
        {
            if (streamEvent.TryPickContentBlockDelta(out var delta))
            {
                Assert.Equal(0, delta.Index);
                Assert.True(delta.Delta.TryPickText(out var textDelta));
                text.Append(textDelta.Text);
            }
        }

        Assert.Equal(Expected.Text("the quick brown fox", 7), text.ToString());
        Assert.True(events[^2].TryPickDelta(out var messageDelta));
        Assert.Equal("end_turn", messageDelta.Delta.StopReason?.Raw());
        Assert.Equal(7, messageDelta.Usage.OutputTokens);
        Assert.Equal(50, messageDelta.Usage.CacheReadInputTokens);
        Assert.True(events[^1].TryPickStop(out _));

        var nonStreamed = await client.Messages.Create(request);
        Assert.True(nonStreamed.Content[0].TryPickText(out var nonStreamedText));
        Assert.Equal(text.ToString(), nonStreamedText.Text);
    }

    [Fact]
    public async Task Mentioning_a_tool_streams_text_then_a_tool_use_block_with_schema_valid_input()
    {
        var request = Ask("Please use get_weather for Paris") with { Tools = [WeatherTool] };

        var blocks = new Dictionary<long, string>();
        var partialJson = new StringBuilder();
        var firstJsonDelta = (string?)null;
        ToolUseBlock? toolBlock = null;
        string? stopReason = null;
        await foreach (var streamEvent in sim.Anthropic().Messages.CreateStreaming(request))
        {
            if (streamEvent.TryPickContentBlockStart(out var start))
            {
                blocks[start.Index] = start.ContentBlock.TryPickToolUse(out var tool) ? "tool_use" : "text";
                toolBlock ??= tool;
            }
            else if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickInputJson(out var json))
            {
                Assert.Equal(1, delta.Index);
                firstJsonDelta ??= json.PartialJson;
                partialJson.Append(json.PartialJson);
            }
            else if (streamEvent.TryPickDelta(out var messageDelta))
            {
                stopReason = messageDelta.Delta.StopReason?.Raw();
            }
        }

        Assert.Equal(new Dictionary<long, string> { [0] = "text", [1] = "tool_use" }, blocks);
        Assert.NotNull(toolBlock);
        Assert.Equal("get_weather", toolBlock.Name);
        Assert.StartsWith("toolu_01", toolBlock.ID);
        Assert.Equal("", firstJsonDelta);
        using var input = JsonDocument.Parse(partialJson.ToString());
        Assert.Equal("sim-location", input.RootElement.GetProperty("location").GetString());
        Assert.Equal("celsius", input.RootElement.GetProperty("unit").GetString());
        Assert.Equal(2, input.RootElement.GetProperty("days").GetInt32());
        Assert.False(input.RootElement.TryGetProperty("verbose", out _));
        Assert.Equal("tool_use", stopReason);
    }

    [Fact]
    public async Task Forced_tool_choice_returns_only_the_tool_call()
    {
        var request = Ask("no tool named here") with { Tools = [WeatherTool], ToolChoice = new ToolChoiceTool("get_weather") };

        var message = await sim.Anthropic().Messages.Create(request);

        Assert.True(Assert.Single(message.Content).TryPickToolUse(out var tool));
        Assert.Equal("get_weather", tool.Name);
        Assert.Equal("sim-location", tool.Input["location"].GetString());
        Assert.Equal("tool_use", message.StopReason?.Raw());
    }

    [Fact]
    public async Task Without_a_mention_auto_tool_choice_answers_with_text()
    {
        var message = await sim.Anthropic().Messages.Create(Ask("just chat with me") with { Tools = [WeatherTool] });

        Assert.True(Assert.Single(message.Content).TryPickText(out _));
        Assert.Equal("end_turn", message.StopReason?.Raw());
    }

    [Fact]
    public async Task Enabled_thinking_streams_a_signed_thinking_block_before_the_text()
    {
        var request = Ask("think about this", maxTokens: 4096) with { Thinking = new ThinkingConfigEnabled(2048) };

        string? firstBlock = null;
        var thinking = new StringBuilder();
        var signature = "";
        await foreach (var streamEvent in sim.Anthropic().Messages.CreateStreaming(request))
        {
            if (streamEvent.TryPickContentBlockStart(out var start) && firstBlock is null)
            {
                firstBlock = start.ContentBlock.TryPickThinking(out _) ? "thinking" : "other";
            }
            else if (streamEvent.TryPickContentBlockDelta(out var delta))
            {
                if (delta.Delta.TryPickThinking(out var thinkingDelta))
                {
                    Assert.Equal(0, delta.Index);
                    thinking.Append(thinkingDelta.Thinking);
                }
                else if (delta.Delta.TryPickSignature(out var signatureDelta))
                {
                    signature = signatureDelta.Signature;
                }
                else
                {
                    Assert.Equal(1, delta.Index);
                }
            }
        }

        Assert.Equal("thinking", firstBlock);
        Assert.NotEmpty(thinking.ToString());
        Assert.NotEmpty(signature);

        var message = await sim.Anthropic().Messages.Create(request);
        Assert.True(message.Content[0].TryPickThinking(out var block));
        Assert.Equal(thinking.ToString(), block.Thinking);
        Assert.Equal(signature, block.Signature);
        Assert.True(message.Content[1].TryPickText(out _));
    }

    [Fact]
    public async Task Count_tokens_matches_the_input_tokens_of_the_same_conversation()
    {
        var client = sim.Anthropic();
        var system = "You are a scientist";
        var counted = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = Model,
            System = system,
            Messages = [new UserMessageParam("Hello, Claude")],
        });
        var message = await client.Messages.Create(new MessageCreateParams
        {
            Model = Model,
            MaxTokens = 64,
            System = system,
            Messages = [new UserMessageParam("Hello, Claude")],
        });

        Assert.Equal(Expected.Tokens(system.Length + "Hello, Claude".Length), counted.InputTokens);
        Assert.Equal(counted.InputTokens, message.Usage.InputTokens);
    }

    [Fact]
    public async Task Models_are_listed_and_retrievable_by_id_and_alias()
    {
        var client = sim.Anthropic();

        var page = await client.Models.List(new());
        var model = await client.Models.Retrieve("claude-haiku-4-5-20251001", new());
        var alias = await client.Models.Retrieve("claude-sonnet-4-5", new());

        var ids = page.Items.Select(m => m.ID).ToList();
        Assert.Contains("claude-opus-4-5-20251101", ids);
        Assert.Contains("claude-sonnet-4-5-20250929", ids);
        Assert.Contains("claude-haiku-4-5-20251001", ids);
        Assert.Contains("claude-sonnet-4-20250514", ids);
        Assert.Contains("claude-3-5-haiku-20241022", ids);
        Assert.All(page.Items, m => Assert.False(string.IsNullOrEmpty(m.DisplayName)));
        Assert.Equal("Claude Haiku 4.5", model.DisplayName);
        Assert.Equal(new DateTimeOffset(2025, 10, 15, 0, 0, 0, TimeSpan.Zero), model.CreatedAt);
        Assert.Equal("claude-sonnet-4-5-20250929", alias.ID);
    }

    [Fact]
    public async Task Unknown_model_is_a_not_found_exception()
    {
        var error = await Assert.ThrowsAsync<AnthropicNotFoundException>(() => sim.Anthropic().Models.Retrieve("claude-nonexistent", new()));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        Assert.StartsWith("req_", error.RequestID);
    }

    [Fact]
    public async Task Wrong_api_key_is_an_unauthorized_exception()
    {
        var error = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => sim.Anthropic(apiKey: "sk-ant-wrong").Messages.Create(Ask("hi")));

        Assert.Contains("authentication_error", error.ResponseBody);
        Assert.Contains("invalid x-api-key", error.ResponseBody);
    }

    [Theory]
    [InlineData(400, typeof(AnthropicBadRequestException), "invalid_request_error")]
    [InlineData(401, typeof(AnthropicUnauthorizedException), "authentication_error")]
    [InlineData(403, typeof(AnthropicForbiddenException), "permission_error")]
    [InlineData(404, typeof(AnthropicNotFoundException), "not_found_error")]
    [InlineData(429, typeof(AnthropicRateLimitException), "rate_limit_error")]
    [InlineData(500, typeof(Anthropic5xxException), "api_error")]
    [InlineData(529, typeof(AnthropicOverloadedException), "overloaded_error")]
    public async Task Simulated_status_maps_to_the_sdk_exception(int status, System.Type exceptionType, string errorType)
    {
        var client = sim.Anthropic(Headers(("x-sim-status", status.ToString(System.Globalization.CultureInfo.InvariantCulture))));

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(Ask("hi")));

        Assert.IsAssignableFrom(exceptionType, error);
        Assert.Equal(status, (int)error.StatusCode);
        using var body = JsonDocument.Parse(error.ResponseBody);
        Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
        Assert.Equal(errorType, body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(error.RequestID, body.RootElement.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task Stream_cut_mid_way_surfaces_as_an_error_after_the_events_sent()
    {
        // message_start, content_block_start, ping, then two text deltas; the SDK hides the ping.
        var client = sim.Anthropic(Headers(("x-sim-cut-after", "5")));

        var received = new List<RawMessageStreamEvent>();
        var error = await Record.ExceptionAsync(async () =>
        {
            await foreach (var streamEvent in client.Messages.CreateStreaming(Ask("never finished")))
            {
                received.Add(streamEvent);
            }
        });

        var ended = Assert.IsType<HttpIOException>(error);
        Assert.Equal(HttpRequestError.ResponseEnded, ended.HttpRequestError);
        Assert.Equal(4, received.Count);
        Assert.DoesNotContain(received, e => e.TryPickStop(out _));
    }

    [Fact]
    public async Task In_stream_error_event_surfaces_as_an_sse_exception()
    {
        var client = sim.Anthropic(Headers(("x-sim-error-after", "3")));

        var error = await Assert.ThrowsAsync<AnthropicSseException>(async () =>
        {
            await foreach (var _ in client.Messages.CreateStreaming(Ask("overloaded soon")))
            {
            }
        });

        Assert.Contains("overloaded_error", error.Message);
    }
}
