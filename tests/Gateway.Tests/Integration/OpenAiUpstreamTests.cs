using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmGateway.Gateway.Tests.Infrastructure;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>
/// The official Anthropic C# SDK calling a model that only the OpenAI-compatible simulator serves (demo mode's
/// <c>openai</c> upstream, <c>gpt-*</c>): the gateway sends Chat Completions and answers in the Messages format,
/// streamed or not, tools included, metered like any other answer.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class OpenAiUpstreamTests(AppFixture app)
{
    private const string Model = "gpt-4o-mini";

    private static MessageCreateParams Ask(string text) => new()
    {
        Model = Model,
        MaxTokens = 256,
        Messages = [new UserMessageParam { Content = text }],
    };

    private static string NewTag() => "oai-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task A_message_for_a_model_of_the_openai_compatible_upstream_reaches_it_as_chat_completions_and_is_metered()
    {
        var (secret, projection) = await app.CreateCredentialAsync(models: ["gpt-*"]);
        var tag = NewTag();
        var client = app.Sdk(secret, new Dictionary<string, string> { ["x-sim-request-tag"] = tag, ["x-sim-output-tokens"] = "5" });

        var message = await client.Messages.Create(Ask("alpha beta gamma"));

        var text = string.Concat(message.Content.Select(block => block.Value).OfType<TextBlock>().Select(block => block.Text));
        Assert.Equal("alpha beta gamma alpha beta", text);
        Assert.Equal(5, message.Usage.OutputTokens);
        Assert.True(message.Usage.InputTokens > 0);
        Assert.Equal("end_turn", message.StopReason?.Raw());

        using var record = JsonDocument.Parse(await app.OpenAiSimulator.GetStringAsync($"/sim/requests/{tag}?wait=finished&timeoutMs=30000"));
        Assert.Equal("/v1/chat/completions", record.RootElement.GetProperty("path").GetString());
        var headers = record.RootElement.GetProperty("headers");
        // The provider's own key as a Bearer token; the caller's key never leaves the gateway.
        Assert.False(headers.TryGetProperty("x-api-key", out _));
        Assert.StartsWith("Bearer", headers.GetProperty("authorization").GetString());
        Assert.DoesNotContain(secret, headers.GetRawText(), StringComparison.Ordinal);

        var usage = await UsageStream.WaitForAsync(app.Redis, await app.LatestRequestIdAsync(projection.Id));
        Assert.Equal("openai", usage["upstream"]);
        Assert.Equal(Model, usage["model"]);
        Assert.Equal("5", usage["output_tokens"]);
        Assert.Equal(message.Usage.InputTokens.ToString(), usage["input_tokens"]);
        Assert.Equal("0", usage["estimated"]);
    }

    [Fact]
    public async Task A_streamed_message_from_the_openai_compatible_upstream_arrives_as_anthropic_events_with_usage()
    {
        var (secret, projection) = await app.CreateCredentialAsync(models: ["gpt-*"]);
        var client = app.Sdk(secret, new Dictionary<string, string> { ["x-sim-output-tokens"] = "7" });

        var text = new StringBuilder();
        var types = new List<string>();
        long? outputTokens = null;
        await foreach (var streamEvent in client.Messages.CreateStreaming(Ask("one two three")))
        {
            types.Add(streamEvent.Json.GetProperty("type").GetString()!);
            if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var textDelta))
            {
                text.Append(textDelta.Text);
            }
            else if (streamEvent.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta.Usage.OutputTokens;
            }
        }

        Assert.Equal("one two three one two three one", text.ToString());
        Assert.Equal("message_start", types[0]);
        Assert.Equal("message_stop", types[^1]);
        Assert.Equal(7, outputTokens);

        var usage = await UsageStream.WaitForAsync(app.Redis, await app.LatestRequestIdAsync(projection.Id));
        Assert.Equal("openai", usage["upstream"]);
        Assert.Equal("7", usage["output_tokens"]);
        Assert.NotEqual("0", usage["input_tokens"]);
        Assert.Equal("1", usage["stream"]);
        Assert.Equal("0", usage["estimated"]);
    }

    [Fact]
    public async Task A_streamed_tool_call_from_the_openai_compatible_upstream_is_a_tool_use_block_for_the_sdk()
    {
        var (secret, _) = await app.CreateCredentialAsync(models: ["gpt-*"]);
        var client = app.Sdk(secret);
        var weather = new Tool
        {
            Name = "get_weather",
            Description = "Weather for a city",
            InputSchema = new InputSchema
            {
                Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) },
                Required = ["city"],
            },
        };

        var json = new StringBuilder();
        string? toolName = null;
        string? stopReason = null;
        await foreach (var streamEvent in client.Messages.CreateStreaming(Ask("what is the weather? use get_weather") with { Tools = [weather] }))
        {
            if (streamEvent.TryPickContentBlockStart(out var start) && start.ContentBlock.TryPickToolUse(out var toolUse))
            {
                toolName = toolUse.Name;
            }
            else if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickInputJson(out var inputJson))
            {
                json.Append(inputJson.PartialJson);
            }
            else if (streamEvent.TryPickDelta(out var messageDelta))
            {
                stopReason = messageDelta.Delta.StopReason?.Raw();
            }
        }

        Assert.Equal("get_weather", toolName);
        Assert.Equal("tool_use", stopReason);
        using var input = JsonDocument.Parse(json.ToString());
        Assert.Equal("sim-city", input.RootElement.GetProperty("city").GetString());
    }

    [Fact]
    public async Task An_error_of_the_openai_compatible_upstream_reaches_the_sdk_in_anthropic_shape()
    {
        var (secret, _) = await app.CreateCredentialAsync(models: ["gpt-*"]);
        var client = app.Sdk(secret, new Dictionary<string, string> { ["x-sim-status"] = "400" });

        var error = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => client.Messages.Create(Ask("hello")));

        Assert.Contains("invalid_request_error", error.Message, StringComparison.Ordinal);
    }
}
