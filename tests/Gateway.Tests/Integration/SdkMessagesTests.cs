using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmGateway.Gateway.Tests.Infrastructure;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>The official Anthropic C# SDK against the whole app, with only the base URL and key changed.</summary>
[Collection(AppCollection.Name)]
public sealed class SdkMessagesTests(AppFixture app)
{
    private static MessageCreateParams Ask(string text, long maxTokens = 256, string model = "claude-sonnet-4-5") => new()
    {
        Model = model,
        MaxTokens = maxTokens,
        Messages = [new UserMessageParam { Content = text }],
    };

    private static string NewTag() => "gw-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task A_non_streaming_message_works_through_the_sdk()
    {
        var (secret, projection) = await app.CreateCredentialAsync(models: ["claude-*"]);
        var tag = NewTag();
        var client = app.Sdk(secret, new Dictionary<string, string> { ["x-sim-request-tag"] = tag, ["x-sim-output-tokens"] = "5" });

        var message = await client.Messages.Create(Ask("alpha beta gamma"));

        var text = string.Concat(message.Content.Select(block => block.Value).OfType<TextBlock>().Select(block => block.Text));
        Assert.Equal("alpha beta gamma alpha beta", text);
        Assert.Equal(5, message.Usage.OutputTokens);

        // What the simulator sent is what the SDK got; the real key (not the caller's) reached it. The simulator
        // records the outcome once its handler has returned, which may be just after the SDK has the last byte.
        using var record = JsonDocument.Parse(await app.Simulator.GetStringAsync($"/sim/requests/{tag}?wait=finished&timeoutMs=30000"));
        Assert.True(record.RootElement.GetProperty("completed").GetBoolean());
        var headers = record.RootElement.GetProperty("headers");
        Assert.NotEqual("sha256:" + CredentialFormatHash(secret), headers.GetProperty("x-api-key").GetString());

        var requestId = await app.LatestRequestIdAsync(projection.Id);
        var usage = await UsageStream.WaitForAsync(app.Redis, requestId);
        Assert.Equal("5", usage["output_tokens"]);
        Assert.Equal(message.Usage.InputTokens.ToString(), usage["input_tokens"]);
        Assert.Equal("0", usage["estimated"]);
        Assert.Equal("upstream", usage["upstream"]);
    }

    [Fact]
    public async Task A_streamed_text_message_works_through_the_sdk()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var client = app.Sdk(secret, new Dictionary<string, string> { ["x-sim-output-tokens"] = "7" });

        var text = new StringBuilder();
        var types = new List<string>();
        await foreach (var streamEvent in client.Messages.CreateStreaming(Ask("one two three")))
        {
            types.Add(streamEvent.Json.GetProperty("type").GetString()!);
            if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var textDelta))
            {
                text.Append(textDelta.Text);
            }
        }

        Assert.Equal("one two three one two three one", text.ToString());
        Assert.Equal("message_start", types[0]);
        Assert.Equal("message_stop", types[^1]);
    }

    [Fact]
    public async Task A_streamed_tool_use_works_through_the_sdk()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var client = app.Sdk(secret);
        var weather = new Tool
        {
            Name = "get_weather",
            Description = "Weather for a city",
            InputSchema = new InputSchema
            {
                Properties = new Dictionary<string, JsonElement>
                {
                    ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }),
                },
                Required = ["city"],
            },
        };
        var request = Ask("what is the weather? use get_weather") with { Tools = [weather] };

        var json = new StringBuilder();
        string? toolName = null;
        string? stopReason = null;
        await foreach (var streamEvent in client.Messages.CreateStreaming(request))
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
    public async Task Count_tokens_is_answered_by_the_upstream()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var count = await app.Sdk(secret).Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "claude-sonnet-4-5",
            Messages = [new UserMessageParam { Content = "how many tokens is this" }],
        });
        Assert.True(count.InputTokens > 0);
    }

    [Fact]
    public async Task The_model_list_holds_only_the_models_the_caller_may_use()
    {
        var (all, _) = await app.CreateCredentialAsync();
        var (haikuOnly, _) = await app.CreateCredentialAsync(models: ["claude-haiku-*"]);

        var everything = (await app.Sdk(all).Models.List(new() { Limit = 1000 })).Items.Select(m => m.ID).ToList();
        var allowed = (await app.Sdk(haikuOnly).Models.List(new() { Limit = 1000 })).Items.Select(m => m.ID).ToList();

        Assert.NotEmpty(allowed);
        Assert.True(everything.Count > allowed.Count);
        Assert.All(allowed, id => Assert.StartsWith("claude-haiku-", id));
        Assert.Equal(everything.Where(id => id.StartsWith("claude-haiku-", StringComparison.Ordinal)), allowed);

        var one = await app.Sdk(haikuOnly).Models.Retrieve(allowed[0]);
        Assert.Equal(allowed[0], one.ID);
        await Assert.ThrowsAsync<AnthropicNotFoundException>(() => app.Sdk(haikuOnly).Models.Retrieve(everything.First(id => !id.StartsWith("claude-haiku-", StringComparison.Ordinal))));
    }

    private static string CredentialFormatHash(string secret) => LlmGateway.Contracts.Credentials.CredentialFormat.Hash(secret);
}
