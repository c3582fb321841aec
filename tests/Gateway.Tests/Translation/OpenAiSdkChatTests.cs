using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Tests.Infrastructure;
using LlmGateway.Gateway.Tests.Integration;
using OpenAI;
using OpenAI.Chat;

namespace LlmGateway.Gateway.Tests.Translation;

/// <summary>
/// The official OpenAI .NET SDK against the whole app (the simulator is the Anthropic upstream): only the endpoint and
/// the key differ from production use. Chat completions are translated to the Messages API and back, metered and limited.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class OpenAiSdkChatTests(AppFixture app)
{
    private const string Model = "claude-sonnet-4-5-20250929";

    private ChatClient Chat(string secret, string? tag = null, string model = Model, params (string Name, string Value)[] headers)
    {
        var options = new OpenAIClientOptions { Endpoint = new Uri(app.Gateway, "/v1"), RetryPolicy = new ClientRetryPolicy(0) };
        if (tag is not null)
        {
            options.AddPolicy(new SetHeader("x-sim-request-tag", tag), PipelinePosition.PerCall);
        }

        foreach (var (name, value) in headers)
        {
            options.AddPolicy(new SetHeader(name, value), PipelinePosition.PerCall);
        }

        return new ChatClient(model, new ApiKeyCredential(secret), options);
    }

    private static string NewTag() => "oa-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task A_chat_completion_is_answered_and_metered_with_its_cost()
    {
        var (secret, projection) = await app.CreateCredentialAsync(models: ["claude-*"]);
        var completion = (await Chat(secret).CompleteChatAsync(
            [new SystemChatMessage("Be brief."), new UserChatMessage("alpha beta gamma")],
            new ChatCompletionOptions { MaxOutputTokenCount = 5, Temperature = 0.5f, EndUserId = "user-42" })).Value;

        Assert.Equal("alpha beta gamma alpha beta", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(5, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.StartsWith("chatcmpl-", completion.Id);

        // One usage event, on the caller's route, with the tokens the SDK saw: the cost the UsageWorker prices.
        var usage = await LatestUsageAsync(projection.Id);
        Assert.Equal("/v1/chat/completions", usage["route"]);
        Assert.Equal("200", usage["status"]);
        Assert.Equal(Model, usage["model"]);
        Assert.Equal("5", usage["output_tokens"]);
        Assert.Equal(completion.Usage.InputTokenCount.ToString(), usage["input_tokens"]);
        var cost = PriceTable.BuiltIn.Find(Model)!.Price.CostNanoUsd(new TokenUsage(completion.Usage.InputTokenCount, 5));
        Assert.True(cost > 0);
    }

    [Fact]
    public async Task A_chat_completion_for_a_model_of_the_openai_compatible_upstream_is_served_there_streamed_with_usage()
    {
        // gpt-* is served only by demo mode's OpenAI-compatible simulator: the request goes through the Messages form
        // both ways (Translation/OpenAiUpstream), so it is metered by the same readers.
        var (secret, projection) = await app.CreateCredentialAsync(models: ["gpt-*"]);
        var tag = NewTag();
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in Chat(secret, tag, "gpt-4o-mini").CompleteChatStreamingAsync([new UserChatMessage("one two three")],
                           new ChatCompletionOptions { MaxOutputTokenCount = 4 }))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage = update.Usage ?? usage;
        }

        Assert.Equal("one two three one", text.ToString());
        Assert.Equal(4, usage?.OutputTokenCount);
        using var record = JsonDocument.Parse(await app.OpenAiSimulator.GetStringAsync($"/sim/requests/{tag}?wait=finished&timeoutMs=30000"));
        Assert.Equal("/v1/chat/completions", record.RootElement.GetProperty("path").GetString());
        var recorded = await LatestUsageAsync(projection.Id);
        Assert.Equal(("openai", "/v1/chat/completions", "4"), (recorded["upstream"], recorded["route"], recorded["output_tokens"]));
    }

    [Fact]
    public async Task A_streamed_chat_completion_ends_with_usage_including_cached_tokens()
    {
        var (secret, projection) = await app.CreateCredentialAsync();
        var options = new OpenAIClientOptions { Endpoint = new Uri(app.Gateway, "/v1"), RetryPolicy = new ClientRetryPolicy(0) };
        options.AddPolicy(new SetHeader("x-sim-cache-read-tokens", "7"), PipelinePosition.PerCall);
        var client = new ChatClient(Model, new ApiKeyCredential(secret), options);

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var updates = 0;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("one two three")]))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
        }

        Assert.Equal("one two three one two three one two three one two three", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.True(updates > 12, "the answer arrives chunk by chunk");
        Assert.NotNull(usage);
        Assert.Equal(12, usage.OutputTokenCount);
        Assert.Equal(7, usage.InputTokenDetails.CachedTokenCount);
        var recorded = await LatestUsageAsync(projection.Id);
        Assert.Equal("1", recorded["stream"]);
        Assert.Equal("7", recorded["cache_read_input_tokens"]);
        Assert.Equal(usage.InputTokenCount - 7, long.Parse(recorded["input_tokens"]));
        Assert.Equal("0", recorded["estimated"]);
    }

    [Fact]
    public async Task The_raw_stream_is_data_only_chunks_ending_with_done()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        using var http = app.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{Model}}","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi there"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var frames = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(frames, frame => Assert.StartsWith("data: ", frame));
        Assert.Equal("data: [DONE]", frames[^1]);
        using var last = JsonDocument.Parse(frames[^2][6..]);
        Assert.Equal(0, last.RootElement.GetProperty("choices").GetArrayLength());
        Assert.True(last.RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt64() > 0);
        Assert.True(response.Headers.Contains("x-request-id"));
    }

    [Fact]
    public async Task A_tool_call_round_trip_works()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var tag = NewTag();
        var client = Chat(secret, tag);
        var weather = ChatTool.CreateFunctionTool("get_weather", "Weather for a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
        var options = new ChatCompletionOptions { Tools = { weather }, ToolChoice = ChatToolChoice.CreateRequiredChoice() };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Paris?")];

        var first = (await client.CompleteChatAsync(messages, options)).Value;
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("sim-city", JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString());

        // The same through a stream: the call's id, name and argument fragments.
        var streamedName = "";
        var streamedArguments = new StringBuilder();
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            foreach (var part in update.ToolCallUpdates)
            {
                streamedName += part.FunctionName;
                streamedArguments.Append(part.FunctionArgumentsUpdate?.ToString());
            }
        }

        Assert.Equal("get_weather", streamedName);
        Assert.Equal("sim-city", JsonDocument.Parse(streamedArguments.ToString()).RootElement.GetProperty("city").GetString());

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, "Sunny, 24 degrees"));
        var second = (await client.CompleteChatAsync(messages, new ChatCompletionOptions { Tools = { weather } })).Value;
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.NotEmpty(second.Content[0].Text);

        // What the upstream got: a tool_use turn and the tool_result in the next user turn.
        using var sent = JsonDocument.Parse(await app.Simulator.GetStringAsync($"/sim/requests/{tag}/request-body"));
        var turns = sent.RootElement.GetProperty("messages");
        Assert.Equal(3, turns.GetArrayLength());
        Assert.Equal("tool_use", turns[1].GetProperty("content")[0].GetProperty("type").GetString());
        var result = turns[2].GetProperty("content")[0];
        Assert.Equal("tool_result", result.GetProperty("type").GetString());
        Assert.Equal(call.Id, result.GetProperty("tool_use_id").GetString());
    }

    [Fact]
    public async Task Image_content_reaches_the_upstream_as_an_image_block()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var tag = NewTag();
        var png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");
        var completion = (await Chat(secret, tag).CompleteChatAsync([new UserChatMessage(
            ChatMessageContentPart.CreateTextPart("describe this picture"),
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(png), "image/png"),
            ChatMessageContentPart.CreateImagePart(new Uri("https://example.com/cat.jpg")))])).Value;
        Assert.NotEmpty(completion.Content[0].Text);

        using var sent = JsonDocument.Parse(await app.Simulator.GetStringAsync($"/sim/requests/{tag}/request-body"));
        var content = sent.RootElement.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("text", content[0].GetProperty("type").GetString());
        var inline = content[1].GetProperty("source");
        Assert.Equal("base64", inline.GetProperty("type").GetString());
        Assert.Equal("image/png", inline.GetProperty("media_type").GetString());
        Assert.Equal(Convert.ToBase64String(png), inline.GetProperty("data").GetString());
        var linked = content[2].GetProperty("source");
        Assert.Equal("url", linked.GetProperty("type").GetString());
        Assert.Equal("https://example.com/cat.jpg", linked.GetProperty("url").GetString());
    }

    [Fact]
    public async Task A_bad_key_is_a_401_in_openai_shape()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat("lgw_key_" + new string('A', 49)).CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, error.Status);
        var body = await ErrorAsync(error);
        Assert.Equal("authentication_error", body.GetProperty("type").GetString());
        Assert.Equal("invalid_api_key", body.GetProperty("code").GetString());
    }

    [Fact]
    public async Task N_greater_than_one_is_a_400_naming_the_parameter()
    {
        var (secret, projection) = await app.CreateCredentialAsync();
        using var http = app.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{Model}}","n":2,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("n", error.GetProperty("param").GetString());
        Assert.Contains("n=1", error.GetProperty("message").GetString());
        Assert.Equal("400", (await LatestUsageAsync(projection.Id))["status"]);
    }

    [Fact]
    public async Task A_rate_limit_is_a_429_in_openai_shape_with_retry_after()
    {
        var secret = await CreateLimitedKeyAsync(new { requests_per_minute = 1 });
        var client = Chat(secret);
        await client.CompleteChatAsync([new UserChatMessage("first")]);
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("second")]));
        Assert.Equal(429, error.Status);
        var response = error.GetRawResponse()!;
        Assert.True(response.Headers.TryGetValue("retry-after", out var retryAfter) && int.Parse(retryAfter!) > 0);
        var body = await ErrorAsync(error);
        Assert.Equal("rate_limit_exceeded", body.GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_model_list_answers_in_openai_shape_to_openai_clients()
    {
        var (secret, _) = await app.CreateCredentialAsync(models: ["claude-haiku-*"]);
        var client = new OpenAI.Models.OpenAIModelClient(new ApiKeyCredential(secret),
            new OpenAIClientOptions { Endpoint = new Uri(app.Gateway, "/v1"), RetryPolicy = new ClientRetryPolicy(0) });
        var models = (await client.GetModelsAsync()).Value;
        Assert.NotEmpty(models);
        Assert.All(models, model =>
        {
            Assert.StartsWith("claude-haiku-", model.Id);
            Assert.Equal("anthropic", model.OwnedBy);
            Assert.True(model.CreatedAt > DateTimeOffset.FromUnixTimeSeconds(0));
        });

        // Anthropic clients (anthropic-version) keep Anthropic's page.
        var anthropic = await app.Sdk(secret).Models.List(new() { Limit = 1000 });
        Assert.Equal(models.Select(m => m.Id), anthropic.Items.Select(m => m.ID));

        // One model by id: OpenAI's model object; a model the caller may not use (or that does not exist) is a 404 in OpenAI's shape.
        var one = (await client.GetModelAsync(models[0].Id)).Value;
        Assert.Equal((models[0].Id, "anthropic", models[0].CreatedAt), (one.Id, one.OwnedBy, one.CreatedAt));
        foreach (var hidden in new[] { "claude-sonnet-4-5-20250929", "no-such-model" })
        {
            var missing = await Assert.ThrowsAsync<ClientResultException>(() => client.GetModelAsync(hidden));
            Assert.Equal(404, missing.Status);
            Assert.Equal("invalid_request_error", (await ErrorAsync(missing)).GetProperty("type").GetString());
        }

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => new OpenAI.Models.OpenAIModelClient(new ApiKeyCredential("nope"),
            new OpenAIClientOptions { Endpoint = new Uri(app.Gateway, "/v1"), RetryPolicy = new ClientRetryPolicy(0) }).GetModelsAsync());
        Assert.Equal(401, refused.Status);
        Assert.Equal("invalid_api_key", (await ErrorAsync(refused)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Upstream_errors_and_cut_streams_reach_the_caller_in_openai_shape()
    {
        var (secret, projection) = await app.CreateCredentialAsync();
        var refused = await Assert.ThrowsAsync<ClientResultException>(() =>
            Chat(secret, headers: ("x-sim-status", "400")).CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(400, refused.Status);
        Assert.Equal("invalid_request_error", (await ErrorAsync(refused)).GetProperty("type").GetString());
        Assert.Equal("400", (await LatestUsageAsync(projection.Id))["status"]);

        // The provider refusing the gateway's own key is the operator's problem: a 502, never the caller's 403.
        var keyRefused = await Assert.ThrowsAsync<ClientResultException>(() =>
            Chat(secret, headers: ("x-sim-status", "403")).CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(502, keyRefused.Status);
        Assert.Equal("server_error", (await ErrorAsync(keyRefused)).GetProperty("type").GetString());

        // A stream the upstream cuts after a few events: the client holds the chunks so far and never gets a finish
        // reason. (The .NET SDK ends such a stream quietly: it does not raise on the in-band error frame that the Python
        // and Node SDKs raise on; the next test checks the frame itself.)
        var received = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in Chat(secret, headers: ("x-sim-cut-after", "4")).CompleteChatStreamingAsync([new UserChatMessage("one two three")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                received.Append(part.Text);
            }

            finish = update.FinishReason ?? finish;
        }

        Assert.NotEmpty(received.ToString());
        Assert.NotEqual("one two three one two three one two three one two three", received.ToString());
        Assert.Null(finish);
    }

    [Fact]
    public async Task A_cut_stream_ends_with_an_openai_error_frame()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        using var http = app.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{Model}}","stream":true,"messages":[{"role":"user","content":"one two three"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        request.Headers.TryAddWithoutValidation("x-sim-cut-after", "4");
        using var response = await http.SendAsync(request);
        var frames = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("data: [DONE]", frames);
        using var last = JsonDocument.Parse(frames[^1]["data: ".Length..]);
        Assert.Equal("server_error", last.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData(null, "application/json", HttpStatusCode.Unauthorized, "authentication_error")]
    [InlineData("key", "text/plain", HttpStatusCode.UnsupportedMediaType, "invalid_request_error")]
    [InlineData("key", "application/json", HttpStatusCode.Forbidden, "permission_error")]
    public async Task The_gateways_own_refusals_are_in_openai_shape(string? key, string contentType, HttpStatusCode status, string type)
    {
        var (secret, _) = await app.CreateCredentialAsync(models: ["claude-haiku-*"]);
        using var http = app.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, contentType),
        };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Single(document.RootElement.EnumerateObject());
        var error = document.RootElement.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.True(error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _));
    }

    private static Task<JsonElement> ErrorAsync(ClientResultException error)
    {
        var json = JsonDocument.Parse(error.GetRawResponse()!.Content.ToString()).RootElement;
        var body = json.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
        Assert.True(body.TryGetProperty("param", out _));
        return Task.FromResult(body.Clone());
    }

    private async Task<string> CreateLimitedKeyAsync(object limits)
    {
        using var http = app.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/credentials")
        {
            Content = JsonContent.Create(new Dictionary<string, object?>
            {
                ["name"] = "openai limits",
                ["owner"] = new Dictionary<string, string> { ["type"] = "organization", ["id"] = "org_" + Guid.NewGuid().ToString("N")[..10] },
                ["limits"] = limits,
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", app.App.GetParameter("admin-key"));
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var secret = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await app.Redis.GetDatabase().KeyExistsAsync(LlmGateway.Contracts.RedisKeys.Credential(LlmGateway.Contracts.Credentials.CredentialFormat.Hash(secret))))
        {
            Assert.True(DateTime.UtcNow < deadline, "TokenService did not project the new credential");
            await Task.Delay(50);
        }

        return secret;
    }

    private async Task<IReadOnlyDictionary<string, string>> LatestUsageAsync(string credentialId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var entry = (await UsageStream.ReadAllAsync(app.Redis)).LastOrDefault(e => e.GetValueOrDefault("credential_id") == credentialId);
            if (entry is not null)
            {
                return entry;
            }

            Assert.True(DateTime.UtcNow < deadline, "no usage event");
            await Task.Delay(20);
        }
    }

    private sealed class SetHeader(string name, string value) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set(name, value);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set(name, value);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }
}
