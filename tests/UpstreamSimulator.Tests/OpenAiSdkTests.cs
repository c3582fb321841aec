using System.ClientModel;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using OpenAI.Models;

namespace LlmGateway.UpstreamSimulator.Tests;

/// <summary>The official OpenAI .NET SDK against the simulator's Chat Completions and models routes.</summary>
public sealed class OpenAiSdkTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>
{
    private static readonly ChatTool LookupTool = ChatTool.CreateFunctionTool(
        "lookup_order",
        "Find an order",
        BinaryData.FromString("""{"type":"object","properties":{"order_id":{"type":"string"},"limit":{"type":"integer"}},"required":["order_id"]}"""));

    private static Dictionary<string, string> Headers(params (string Name, string Value)[] headers) =>
        headers.ToDictionary(h => h.Name, h => h.Value);

    [Fact]
    public async Task Chat_completion_echoes_the_user_words_with_usage()
    {
        ChatCompletion completion = await sim.OpenAiChat().CompleteChatAsync([new SystemChatMessage("be brief"), new UserChatMessage("red green blue")]);

        Assert.StartsWith("chatcmpl-", completion.Id);
        Assert.Equal("gpt-4o-mini", completion.Model);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(Expected.Text("red green blue", 12), Assert.Single(completion.Content).Text);
        Assert.Equal(Expected.Tokens("be brief".Length + "red green blue".Length), completion.Usage.InputTokenCount);
        Assert.Equal(12, completion.Usage.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + 12, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Max_completion_tokens_truncates_with_finish_reason_length()
    {
        ChatCompletion completion = await sim.OpenAiChat().CompleteChatAsync(
            [new UserChatMessage("one two")],
            new ChatCompletionOptions { MaxOutputTokenCount = 3 });

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal("one two one", completion.Content[0].Text);
        Assert.Equal(3, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Streaming_chat_delivers_the_same_text_and_a_final_usage_update()
    {
        const string tag = "openai-stream-usage";
        var client = sim.OpenAiChat(headers: Headers(("x-sim-output-tokens", "6"), ("x-sim-cache-read-tokens", "10"), ("x-sim-request-tag", tag)));

        var text = new StringBuilder();
        var ids = new HashSet<string>();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finishReason = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("stream these words")]))
        {
            ids.Add(update.CompletionId);
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
            finishReason ??= update.FinishReason;
        }

        Assert.Single(ids);
        Assert.Equal(Expected.Text("stream these words", 6), text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finishReason);
        Assert.NotNull(usage);
        Assert.Equal(6, usage.OutputTokenCount);
        Assert.Equal(Expected.Tokens("stream these words") + 10, usage.InputTokenCount);
        Assert.Equal(10, usage.InputTokenDetails.CachedTokenCount);

        using var sent = JsonDocument.Parse(await sim.Http.GetByteArrayAsync($"/sim/requests/{tag}/request-body"));
        Assert.True(sent.RootElement.GetProperty("stream").GetBoolean());
        Assert.True(sent.RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public async Task Required_tool_choice_returns_a_tool_call_with_schema_valid_arguments()
    {
        var options = new ChatCompletionOptions { Tools = { LookupTool }, ToolChoice = ChatToolChoice.CreateRequiredChoice() };

        ChatCompletion completion = await sim.OpenAiChat().CompleteChatAsync([new UserChatMessage("where is my parcel")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.StartsWith("call_", call.Id);
        Assert.Equal("lookup_order", call.FunctionName);
        using var arguments = JsonDocument.Parse(call.FunctionArguments);
        Assert.Equal("sim-order_id", arguments.RootElement.GetProperty("order_id").GetString());
        Assert.False(arguments.RootElement.TryGetProperty("limit", out _));
    }

    [Fact]
    public async Task Streamed_tool_call_arguments_accumulate_to_valid_json()
    {
        var options = new ChatCompletionOptions { Tools = { LookupTool } };

        var arguments = new StringBuilder();
        string? name = null;
        string? id = null;
        ChatFinishReason? finishReason = null;
        await foreach (var update in sim.OpenAiChat().CompleteChatStreamingAsync([new UserChatMessage("call lookup_order now")], options))
        {
            foreach (var toolCall in update.ToolCallUpdates)
            {
                Assert.Equal(0, toolCall.Index);
                name ??= toolCall.FunctionName;
                id ??= toolCall.ToolCallId;
                arguments.Append(toolCall.FunctionArgumentsUpdate?.ToString());
            }

            finishReason ??= update.FinishReason;
        }

        Assert.Equal("lookup_order", name);
        Assert.StartsWith("call_", id);
        Assert.Equal(ChatFinishReason.ToolCalls, finishReason);
        using var parsed = JsonDocument.Parse(arguments.ToString());
        Assert.Equal("sim-order_id", parsed.RootElement.GetProperty("order_id").GetString());
    }

    [Theory]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Simulated_status_surfaces_as_a_client_result_exception(int status)
    {
        var client = sim.OpenAiChat(headers: Headers(("x-sim-status", status.ToString(System.Globalization.CultureInfo.InvariantCulture))));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(status, error.Status);
        using var body = JsonDocument.Parse(error.GetRawResponse()!.Content);
        Assert.Equal(status == 429 ? "requests" : "server_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Wrong_api_key_is_a_401_with_openai_error_code()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => sim.OpenAiChat(apiKey: "sk-wrong").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(401, error.Status);
        using var body = JsonDocument.Parse(error.GetRawResponse()!.Content);
        Assert.Equal("invalid_api_key", body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Stream_cut_mid_way_surfaces_as_an_error()
    {
        var client = sim.OpenAiChat(headers: Headers(("x-sim-cut-after", "3"), ("x-sim-output-tokens", "20")));

        var updates = 0;
        var error = await Record.ExceptionAsync(async () =>
        {
            await foreach (var _ in client.CompleteChatStreamingAsync([new UserChatMessage("cut me off")]))
            {
                updates++;
            }
        });

        Assert.IsType<HttpIOException>(error);
        Assert.Equal(3, updates);
    }

    [Fact]
    public async Task Bearer_only_model_listing_uses_the_openai_shape()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential(SimulatorFixture.ApiKey), sim.OpenAiOptions());

        OpenAIModelCollection models = await client.GetModelsAsync();
        OpenAIModel model = await client.GetModelAsync("claude-opus-4-5-20251101");

        Assert.Contains(models, m => m.Id == "claude-sonnet-4-5-20250929" && m.OwnedBy == "anthropic");
        Assert.Equal(new DateTimeOffset(2025, 11, 24, 0, 0, 0, TimeSpan.Zero), model.CreatedAt);
    }
}
