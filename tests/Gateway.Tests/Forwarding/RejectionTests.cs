using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Forwarding;

public sealed class SmallBodyGatewayFixture : GatewayFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Gateway:MaxRequestBodyBytes"] = "4096",
    };
}

/// <summary>Every rejection the gateway makes itself: Anthropic's error shape, the right status and the right SDK exception.</summary>
public sealed class RejectionTests(SmallBodyGatewayFixture fixture) : IClassFixture<SmallBodyGatewayFixture>
{
    private AnthropicClient Sdk(string? apiKey = null, string? authToken = null) => new()
    {
        ApiKey = apiKey,
        AuthToken = authToken,
        BaseUrl = fixture.Gateway.BaseAddress.ToString().TrimEnd('/'),
        MaxRetries = 0,
    };

    private static MessageCreateParams Hello(string model = "claude-sonnet-4-5") => new()
    {
        Model = model,
        MaxTokens = 16,
        Messages = [new UserMessageParam { Content = "Hello" }],
    };

    private static async Task<JsonElement> AssertAnthropicErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement.Clone();
        Assert.Equal("error", root.GetProperty("type").GetString());
        Assert.Equal(type, root.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("error").GetProperty("message").GetString()));
        Assert.Equal(response.Headers.GetValues("request-id").Single(), root.GetProperty("request_id").GetString());
        return root;
    }

    [Fact]
    public async Task Missing_credential_is_401_authentication_error()
    {
        var before = fixture.Upstream.Requests.Count;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent("{}") };
        using var response = await fixture.Client.SendAsync(request);
        await AssertAnthropicErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error");
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
        Assert.Equal(before, fixture.Upstream.Requests.Count);
    }

    [Fact]
    public async Task Wrong_credentials_map_to_the_sdks_unauthorized_exception()
    {
        var unknown = CredentialFormat.Generate(CredentialKind.ApiKey);
        var malformed = "lgw_key_" + new string('A', 49);
        foreach (var client in new[] { Sdk(apiKey: unknown), Sdk(apiKey: malformed), Sdk(authToken: unknown), Sdk(apiKey: "sk-ant-api03-real-looking") })
        {
            var error = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => client.Messages.Create(Hello()));
            Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        }
    }

    [Fact]
    public async Task An_expired_credential_is_refused()
    {
        var (secret, _) = await fixture.CreateCredentialAsync(expiresAt: DateTimeOffset.UtcNow.AddMinutes(-1));
        await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => Sdk(apiKey: secret).Messages.Create(Hello()));
    }

    [Fact]
    public async Task A_model_outside_the_allowlist_is_403_permission_error_and_recorded()
    {
        var (secret, projection) = await fixture.CreateCredentialAsync(models: ["claude-haiku-*"]);
        var before = fixture.Upstream.Requests.Count;
        var error = await Assert.ThrowsAsync<AnthropicForbiddenException>(() => Sdk(apiKey: secret).Messages.Create(Hello("claude-opus-4-6")));
        Assert.Contains("permission_error", error.ResponseBody);
        Assert.Equal(before, fixture.Upstream.Requests.Count);

        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, error.RequestID!);
        Assert.Equal(projection.Id, usage["credential_id"]);
        Assert.Equal("403", usage["status"]);
        Assert.Equal("permission_error", usage["error_type"]);
        Assert.Equal("claude-opus-4-6", usage["model"]);
    }

    [Fact]
    public async Task An_admin_key_cannot_call_the_model_api_and_a_route_outside_the_allowlist_is_refused()
    {
        var (admin, _) = await fixture.CreateCredentialAsync(kind: CredentialKind.AdminKey);
        await Assert.ThrowsAsync<AnthropicForbiddenException>(() => Sdk(apiKey: admin).Messages.Create(Hello()));

        var (countOnly, _) = await fixture.CreateCredentialAsync(routes: ["/v1/messages/count_tokens"]);
        await Assert.ThrowsAsync<AnthropicForbiddenException>(() => Sdk(apiKey: countOnly).Messages.Create(Hello()));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_request_too_large_whether_declared_or_chunked()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var big = new MessageCreateParams { Model = "claude-x", MaxTokens = 1, Messages = [new UserMessageParam { Content = new string('a', 5000) }] };
        var error = await Assert.ThrowsAsync<AnthropicContentTooLargeException>(() => Sdk(apiKey: secret).Messages.Create(big));
        Assert.Contains("request_too_large", error.ResponseBody);

        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"model\":\"m\",\"pad\":\"" + new string('b', 5000) + "\"}"))),
        };
        chunked.Content.Headers.ContentType = new("application/json");
        chunked.Headers.TransferEncodingChunked = true;
        chunked.Headers.TryAddWithoutValidation("x-api-key", secret);
        using var response = await fixture.Client.SendAsync(chunked);
        await AssertAnthropicErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "request_too_large");
    }

    [Theory]
    [InlineData("{\"model\":\"m\",")]
    [InlineData("not json")]
    [InlineData("{\"max_tokens\":5,\"messages\":[]}")]
    [InlineData("[]")]
    [InlineData("")]
    public async Task Malformed_json_or_a_missing_model_is_400_invalid_request_error(string body)
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        using var request = GatewayFixture.Messages(secret, body);
        using var response = await fixture.Client.SendAsync(request);
        await AssertAnthropicErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
    }

    [Fact]
    public async Task The_sdk_sees_a_missing_model_as_a_bad_request()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var client = Sdk(apiKey: secret);
        await Assert.ThrowsAsync<AnthropicBadRequestException>(() => client.Messages.Create(Hello(model: "")));
    }

    [Fact]
    public async Task Internal_routes_are_not_reachable_and_unknown_routes_are_anthropic_404s()
    {
        using var internalRoute = await fixture.Client.PostAsync("/internal/introspect", new StringContent("{\"hash\":\"x\"}"));
        await AssertAnthropicErrorAsync(internalRoute, HttpStatusCode.NotFound, "not_found_error");
        using var unknown = await fixture.Client.GetAsync("/nothing/here");
        await AssertAnthropicErrorAsync(unknown, HttpStatusCode.NotFound, "not_found_error");
    }

    [Fact]
    public async Task Head_root_answers_harmlessly()
    {
        using var response = await fixture.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Health_endpoints_answer_with_the_service_state()
    {
        using var health = await fixture.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var document = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
        Assert.Equal("gateway", document.RootElement.GetProperty("service").GetString());
        Assert.True(document.RootElement.GetProperty("anthropicKeySet").GetBoolean());
        Assert.Equal("connected", document.RootElement.GetProperty("redis").GetString());
        Assert.DoesNotContain(TestSecrets.UpstreamKey, document.RootElement.GetRawText());

        foreach (var alias in new[] { "/alive", "/healthz", "/readyz", "/livez", "/ready", "/live" })
        {
            using var response = await fixture.Client.GetAsync(alias);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Secrets_never_reach_the_logs()
    {
        var (secret, _) = await fixture.CreateCredentialAsync(models: ["none"]);
        await Assert.ThrowsAsync<AnthropicForbiddenException>(() => Sdk(apiKey: secret).Messages.Create(Hello()));
        var tampered = secret[..^2] + "zz";
        await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => Sdk(apiKey: tampered).Messages.Create(Hello()));
        var logs = string.Join("\n", fixture.Gateway.Logs.Lines);
        Assert.NotEmpty(logs);
        Assert.DoesNotContain(secret[8..^4], logs);
        Assert.DoesNotContain(tampered[8..^4], logs);
        // A rejected caller is identifiable in the logs only by prefix…last4.
        Assert.Contains(CredentialFormat.Redact(tampered), logs);
        Assert.DoesNotContain(TestSecrets.UpstreamKey, logs);
    }

    [Fact]
    public async Task Claude_code_style_bearer_plus_api_key_works()
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        fixture.Upstream.Handler = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("""{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}""");
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages?beta=true")
        {
            Content = new StringContent("""{"model":"claude-sonnet-4-6","max_tokens":1,"messages":[{"role":"user","content":"."}]}"""),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        using var response = await fixture.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("{\"id\":\"msg_", await response.Content.ReadAsStringAsync());
    }
}
