using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Tests;

/// <summary>Bad requests get the real APIs' statuses and error shapes, never a 500.</summary>
public sealed class ValidationTests(SimulatorFixture sim) : IClassFixture<SimulatorFixture>
{
    private const string ValidMessage = """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""";

    private static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpClient http, HttpRequestMessage request)
    {
        var response = await http.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (response.StatusCode, body, response);
    }

    private static void AssertAnthropicError(JsonElement body, string type, string message, HttpResponseMessage response)
    {
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Equal(type, body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(message, body.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(response.Headers.GetValues("request-id").Single(), body.GetProperty("request_id").GetString());
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Missing_anthropic_version_gets_the_real_apis_error()
    {
        var (status, body, response) = await SendAsync(sim.Http, sim.AnthropicPost("/v1/messages", ValidMessage, withVersion: false));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertAnthropicError(body, "invalid_request_error", "anthropic-version: header is required", response);
    }

    [Fact]
    public async Task Missing_api_key_is_an_authentication_error()
    {
        var (status, body, response) = await SendAsync(sim.Http, sim.AnthropicPost("/v1/messages", ValidMessage, withKey: false));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        AssertAnthropicError(body, "authentication_error", "x-api-key header is required", response);
    }

    [Fact]
    public async Task Bearer_token_is_accepted_on_anthropic_routes_and_checked_against_the_expected_key()
    {
        var good = sim.AnthropicPost("/v1/messages", ValidMessage, withKey: false);
        good.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SimulatorFixture.ApiKey);
        var bad = sim.AnthropicPost("/v1/messages", ValidMessage, withKey: false);
        bad.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "someone-else");

        using var accepted = await sim.Http.SendAsync(good);
        var (status, body, response) = await SendAsync(sim.Http, bad);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        AssertAnthropicError(body, "authentication_error", "invalid x-api-key", response);
    }

    [Theory]
    [InlineData("""{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", "model: Field required")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", "max_tokens: Field required")]
    [InlineData("""{"model":"m","max_tokens":"ten","messages":[{"role":"user","content":"hi"}]}""", "max_tokens: Input should be a valid integer")]
    [InlineData("""{"model":"m","max_tokens":10}""", "messages: Field required")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[]}""", "messages: List should have at least 1 item after validation, not 0")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"system","content":"hi"}]}""", "messages.0.role: Input should be 'user' or 'assistant'")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"tool","content":"x"}]}""", "messages.1.role: Input should be 'user', 'assistant' or 'system'")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user"}]}""", "messages.0.content: Field required")]
    [InlineData("""{"model":"m","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":4000},"messages":[{"role":"user","content":"hi"}]}""", "`max_tokens` must be greater than `thinking.budget_tokens`")]
    [InlineData("""{"model":"m","max_tokens":10,"tool_choice":{"type":"tool","name":"x"},"tools":[{"name":"y","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}""", "tool_choice: Tool 'x' not found in tools")]
    [InlineData("""[1,2,3]""", "Request body must be a JSON object")]
    public async Task Invalid_message_bodies_are_invalid_request_errors(string json, string message)
    {
        var (status, body, response) = await SendAsync(sim.Http, sim.AnthropicPost("/v1/messages", json));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertAnthropicError(body, "invalid_request_error", message, response);
    }

    [Fact]
    public async Task A_mid_conversation_system_message_as_claude_code_sends_it_is_accepted()
    {
        const string json = """
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"system","content":"<system-reminder>be brief</system-reminder>"},
             {"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"again"}]}]}
            """;
        var (status, body, _) = await SendAsync(sim.Http, sim.AnthropicPost("/v1/messages", json));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("message", body.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Malformed_json_is_an_invalid_request_error()
    {
        var (status, body, _) = await SendAsync(sim.Http, sim.AnthropicPost("/v1/messages", """{"model":"m",""" ));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.StartsWith("There was an error parsing the body of your request", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Count_tokens_does_not_need_max_tokens_but_needs_messages()
    {
        using var ok = await sim.Http.SendAsync(sim.AnthropicPost("/v1/messages/count_tokens?beta=true", """{"model":"m","messages":[{"role":"user","content":"count these"}]}"""));
        var (status, body, response) = await SendAsync(sim.Http, sim.AnthropicPost("/v1/messages/count_tokens", """{"model":"m"}"""));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal($$"""{"input_tokens":{{Expected.Tokens("count these")}}}""", await ok.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertAnthropicError(body, "invalid_request_error", "messages: Field required", response);
    }

    [Theory]
    [InlineData("""{"model":"claude-2","prompt":"\n\nHuman: hi\n\nAssistant:"}""", "max_tokens_to_sample: Field required")]
    [InlineData("""{"model":"claude-2","max_tokens_to_sample":5,"prompt":"hi"}""", "prompt must start with \"\\n\\nHuman:\" turn")]
    [InlineData("""{"model":"claude-2","max_tokens_to_sample":5,"prompt":"\n\nHuman: hi"}""", "prompt must end with \"\\n\\nAssistant:\" turn")]
    public async Task Invalid_legacy_completions_are_invalid_request_errors(string json, string message)
    {
        var (status, body, response) = await SendAsync(sim.Http, sim.AnthropicPost("/v1/complete", json));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertAnthropicError(body, "invalid_request_error", message, response);
    }

    [Fact]
    public async Task Legacy_completion_answers_in_the_completion_shape()
    {
        var request = """{"model":"claude-2.1","max_tokens_to_sample":2,"prompt":"\n\nHuman: earlier\n\nAssistant: ok\n\nHuman: latest turn words\n\nAssistant:"}""";

        var (status, body, _) = await SendAsync(sim.Http, sim.AnthropicPost("/v1/complete", request));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("completion", body.GetProperty("type").GetString());
        Assert.Equal(" latest turn", body.GetProperty("completion").GetString());
        Assert.Equal("max_tokens", body.GetProperty("stop_reason").GetString());
        Assert.Equal("claude-2.1", body.GetProperty("model").GetString());
        Assert.StartsWith("compl_", body.GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "you must provide a model parameter", null, null)]
    [InlineData("""{"model":"gpt"}""", "Missing required parameter: 'messages'.", "messages", "missing_required_parameter")]
    [InlineData("""{"model":"gpt","messages":[{"role":"robot","content":"hi"}]}""", "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", "messages[0].role", "invalid_value")]
    [InlineData("""{"model":"gpt","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}""", "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.", "max_tokens", "integer_below_min_value")]
    public async Task Invalid_chat_requests_get_openai_shaped_errors(string json, string message, string? param, string? code)
    {
        var (status, body, _) = await SendAsync(sim.Http, sim.OpenAiPost(json));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body.GetProperty("error");
        Assert.Equal(message, error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Chat_without_bearer_token_is_401_in_openai_shape()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", SimulatorFixture.ApiKey);

        var (status, body, _) = await SendAsync(sim.Http, request);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.StartsWith("You didn't provide an API key.", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Unknown_routes_are_anthropic_not_found_errors()
    {
        var (status, body, response) = await SendAsync(sim.Http, new HttpRequestMessage(HttpMethod.Get, "/v1/nothing-here"));

        Assert.Equal(HttpStatusCode.NotFound, status);
        AssertAnthropicError(body, "not_found_error", "Not found", response);
        Assert.False(response.Headers.Contains("Server"));
    }

    [Fact]
    public async Task Models_pages_follow_after_and_before_ids()
    {
        async Task<JsonElement> PageAsync(string query)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models" + query);
            request.Headers.Add("x-api-key", SimulatorFixture.ApiKey);
            request.Headers.Add("anthropic-version", SimulatorFixture.AnthropicVersion);
            using var response = await sim.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        }

        var all = await PageAsync("");
        var first = await PageAsync("?limit=3");
        var second = await PageAsync($"?limit=3&after_id={first.GetProperty("last_id").GetString()}");
        var back = await PageAsync($"?limit=3&before_id={second.GetProperty("first_id").GetString()}");
        var ids = all.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();

        Assert.False(all.GetProperty("has_more").GetBoolean());
        Assert.All(all.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("type").GetString()));
        Assert.True(first.GetProperty("has_more").GetBoolean());
        Assert.Equal(ids.Take(3), first.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(ids.Skip(3).Take(3), second.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(ids[0], back.GetProperty("first_id").GetString());
        Assert.False(back.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public async Task Models_listing_with_an_api_key_requires_anthropic_version_and_a_valid_limit()
    {
        var noVersion = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        noVersion.Headers.Add("x-api-key", SimulatorFixture.ApiKey);
        var badLimit = new HttpRequestMessage(HttpMethod.Get, "/v1/models?limit=0");
        badLimit.Headers.Add("x-api-key", SimulatorFixture.ApiKey);
        badLimit.Headers.Add("anthropic-version", SimulatorFixture.AnthropicVersion);

        var (versionStatus, versionBody, versionResponse) = await SendAsync(sim.Http, noVersion);
        var (limitStatus, limitBody, _) = await SendAsync(sim.Http, badLimit);

        Assert.Equal(HttpStatusCode.BadRequest, versionStatus);
        AssertAnthropicError(versionBody, "invalid_request_error", "anthropic-version: header is required", versionResponse);
        Assert.Equal(HttpStatusCode.BadRequest, limitStatus);
        Assert.Equal("invalid_request_error", limitBody.GetProperty("error").GetProperty("type").GetString());
    }
}
