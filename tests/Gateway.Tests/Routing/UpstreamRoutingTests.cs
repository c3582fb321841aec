using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Routing;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Routing;

/// <summary>
/// Two gateway instances on one real Redis, in front of three upstreams: <c>primary</c> (the default upstream,
/// serving <c>claude-*</c> first), <c>secondary</c> (its fallback, also serving <c>refused-*</c>) and <c>dead</c>
/// (nothing listens: connection refused, serving <c>refused-*</c> first). Each instance's breakers run on their own
/// manual clock, so half-open timing is stepped, not waited for.
/// </summary>
public sealed class TwoUpstreamsFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;
    public ConnectionMultiplexer RedisClient { get; private set; } = null!;
    public FakeUpstream Primary { get; private set; } = null!;
    public FakeUpstream Secondary { get; private set; } = null!;
    public InProcessGateway[] Gateways { get; } = new InProcessGateway[2];
    public ManualTimeProvider[] Clocks { get; } = [new(), new()];

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartNewAsync();
        RedisClient = Redis.Connect();
        Primary = await FakeUpstream.StartAsync();
        Secondary = await FakeUpstream.StartAsync();
        var dead = new Uri($"http://127.0.0.1:{RedisServer.FreePort()}");
        var settings = new Dictionary<string, string?>
        {
            ["Upstream:Name"] = "primary",
            ["Upstream:MaxRetries"] = "2",
            ["Upstream:FirstByteTimeout"] = "00:00:10",
            ["Upstreams:primary:BaseUrl"] = Primary.BaseAddress.ToString(),
            ["Upstreams:primary:ApiKey"] = "key-primary",
            ["Upstreams:primary:Models:0"] = "claude-*",
            ["Upstreams:secondary:BaseUrl"] = Secondary.BaseAddress.ToString(),
            ["Upstreams:secondary:ApiKey"] = "key-secondary",
            ["Upstreams:secondary:Models:0"] = "claude-*",
            ["Upstreams:secondary:Models:1"] = "refused-*",
            ["Upstreams:secondary:Priority"] = "1",
            ["Upstreams:dead:BaseUrl"] = dead.ToString(),
            ["Upstreams:dead:ApiKey"] = "key-dead",
            ["Upstreams:dead:Models:0"] = "refused-*",
            ["Upstreams:pool:BaseUrl"] = Secondary.BaseAddress.ToString(),
            ["Upstreams:pool:ApiKeys:0"] = "key-pool-a",
            ["Upstreams:pool:ApiKeys:1"] = "key-pool-b",
            ["Upstreams:pool:Models:0"] = "pool-*",
            ["Upstreams:oai:Kind"] = "OpenAI",
            ["Upstreams:oai:BaseUrl"] = Secondary.BaseAddress.ToString(),
            ["Upstreams:oai:ApiKey"] = "key-oai",
            ["Upstreams:oai:Models:0"] = "gpt-*",
            ["Routing:Aliases:claude-sonnet-4-5"] = "claude-sonnet-4-5-20250929",
            ["Routing:CircuitBreaker:ConsecutiveFailures"] = "2",
            ["Routing:CircuitBreaker:MinimumThroughput"] = "100",
            ["Routing:CircuitBreaker:BreakDuration"] = "00:00:30",
        };
        for (var i = 0; i < Gateways.Length; i++)
        {
            var clock = Clocks[i];
            Gateways[i] = await InProcessGateway.StartAsync(Redis, Primary.BaseAddress, settings,
                services => services.AddSingleton(new CircuitBreakerClock(clock)));
            await Gateways[i].WaitForCredentialSubscriptionAsync();
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var gateway in Gateways)
        {
            await gateway.DisposeAsync();
        }

        await Primary.DisposeAsync();
        await Secondary.DisposeAsync();
        RedisClient.Dispose();
        await Redis.DisposeAsync();
    }

    internal CircuitBreakerRegistry Breakers(int instance) => Gateways[instance].Services.GetRequiredService<CircuitBreakerRegistry>();

    /// <summary>Every test starts with closed breakers, answering upstreams and no recorded requests.</summary>
    public void Reset()
    {
        Breakers(0).Reset(null, "test");
        Breakers(1).Reset(null, "test");
        Primary.Handler = Answer("primary");
        Secondary.Handler = Answer("secondary");
        Primary.Requests.Clear();
        Secondary.Requests.Clear();
    }

    public static RequestDelegate Answer(string who) => async context =>
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($$$"""
            {"id":"msg_{{{who}}}","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"from {{{who}}}"}],
             "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":2}}
            """);
    };

    public static RequestDelegate Fail(int status) => async context =>
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync("""{"type":"error","error":{"type":"api_error","message":"upstream broke"}}""");
    };
}

public sealed class UpstreamRoutingTests(TwoUpstreamsFixture fixture) : IClassFixture<TwoUpstreamsFixture>, IAsyncLifetime
{
    public Task InitializeAsync()
    {
        fixture.Reset();
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private HttpClient Client(int instance = 0) => fixture.Gateways[instance].CreateClient();

    private static HttpRequestMessage Messages(string secret, string model)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent($$"""{"model":"{{model}}","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        return request;
    }

    private AnthropicClient Sdk(string secret, int instance = 0) => new()
    {
        ApiKey = secret,
        BaseUrl = fixture.Gateways[instance].BaseAddress.ToString().TrimEnd('/'),
        MaxRetries = 0,
    };

    private static MessageCreateParams Ask(string model) =>
        new() { Model = model, MaxTokens = 8, Messages = [new UserMessageParam { Content = "hi" }] };

    private static string Text(Message message) => string.Concat(message.Content.Select(block => block.Value).OfType<TextBlock>().Select(block => block.Text));

    private async Task<JsonElement> BreakerAsync(int instance, string admin, string name)
    {
        using var client = Client(instance);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/circuit-breaker");
        request.Headers.TryAddWithoutValidation("x-api-key", admin);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("breakers").EnumerateArray().Single(b => b.GetProperty("name").GetString() == name).Clone();
    }

    [Fact]
    public async Task A_5xx_from_the_first_target_falls_back_to_the_next_and_the_usage_event_names_it_with_two_attempts()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);
        fixture.Primary.Handler = TwoUpstreamsFixture.Fail(503);

        using var client = Client();
        using var response = await client.SendAsync(Messages(secret, "claude-x"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("from secondary", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(fixture.Primary.Requests);
        var served = Assert.Single(fixture.Secondary.Requests);
        // Each target gets its own key, and only its own.
        Assert.Equal("key-secondary", served.Header("x-api-key"));
        Assert.Equal("key-primary", fixture.Primary.Requests.Single().Header("x-api-key"));

        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal("secondary", usage["upstream"]);
        Assert.Equal("2", usage["attempts"]);
        Assert.Equal("200", usage["status"]);
    }

    [Fact]
    public async Task A_refused_connection_falls_back_to_the_next_target_for_the_official_sdk()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);

        var message = await Sdk(secret).Messages.Create(Ask("refused-model"));

        Assert.Equal("from secondary", Text(message));
        Assert.Single(fixture.Secondary.Requests);
    }

    [Fact]
    public async Task An_open_breaker_is_skipped_then_half_opens_with_one_probe_and_closes_on_its_success()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);
        var (admin, _) = await TestCredentials.CreateAsync(fixture.RedisClient, kind: CredentialKind.AdminKey);
        fixture.Primary.Handler = TwoUpstreamsFixture.Fail(500);
        var sdk = Sdk(secret);

        // Two failures in a row open primary's breaker; both calls still succeed through secondary.
        Assert.Equal("from secondary", Text(await sdk.Messages.Create(Ask("claude-x"))));
        Assert.Equal("from secondary", Text(await sdk.Messages.Create(Ask("claude-x"))));
        Assert.Equal(2, fixture.Primary.Requests.Count);
        var open = await BreakerAsync(0, admin, "primary");
        Assert.Equal("open", open.GetProperty("state").GetString());
        Assert.Equal("primary", open.GetProperty("upstream").GetString());
        Assert.Equal(2, open.GetProperty("consecutive_failures").GetInt32());
        Assert.Equal(JsonValueKind.String, open.GetProperty("opened_at").ValueKind);
        Assert.Equal(JsonValueKind.String, open.GetProperty("next_probe").ValueKind);

        // Open: primary is not even tried.
        using (var client = Client())
        using (var skipped = await client.SendAsync(Messages(secret, "claude-x")))
        {
            Assert.Equal(HttpStatusCode.OK, skipped.StatusCode);
            Assert.Equal(2, fixture.Primary.Requests.Count);
            var usage = await UsageStream.WaitForAsync(fixture.RedisClient, skipped.Headers.GetValues("request-id").Single());
            Assert.Equal("secondary", usage["upstream"]);
            Assert.Equal("1", usage["attempts"]);
        }

        // The break is over and primary recovered: the next call is its probe, which closes the breaker.
        fixture.Primary.Handler = TwoUpstreamsFixture.Answer("primary");
        fixture.Clocks[0].Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("from primary", Text(await sdk.Messages.Create(Ask("claude-x"))));
        Assert.Equal(3, fixture.Primary.Requests.Count);
        var closed = await BreakerAsync(0, admin, "primary");
        Assert.Equal("closed", closed.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, closed.GetProperty("next_probe").ValueKind);
        Assert.Equal("from primary", Text(await sdk.Messages.Create(Ask("claude-x"))));
    }

    [Fact]
    public async Task A_failed_probe_opens_the_breaker_again()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);
        var (admin, _) = await TestCredentials.CreateAsync(fixture.RedisClient, kind: CredentialKind.AdminKey);
        fixture.Primary.Handler = TwoUpstreamsFixture.Fail(529);
        var sdk = Sdk(secret);
        await sdk.Messages.Create(Ask("claude-x"));
        await sdk.Messages.Create(Ask("claude-x"));
        Assert.Equal("open", (await BreakerAsync(0, admin, "primary")).GetProperty("state").GetString());

        fixture.Clocks[0].Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("from secondary", Text(await sdk.Messages.Create(Ask("claude-x"))));
        Assert.Equal(3, fixture.Primary.Requests.Count);
        Assert.Equal("open", (await BreakerAsync(0, admin, "primary")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task With_every_breaker_open_the_caller_fails_fast_with_retry_after_in_anthropic_shape()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);
        fixture.Secondary.Handler = TwoUpstreamsFixture.Fail(500);
        using var client = Client(1);
        // dead (refused) and secondary (500) both fail until both breakers are open.
        for (var i = 0; i < 3; i++)
        {
            using var failing = await client.SendAsync(Messages(secret, "refused-model"));
            Assert.True((int)failing.StatusCode >= 500, $"expected a failure, got {(int)failing.StatusCode}");
        }

        var before = fixture.Secondary.Requests.Count;
        using var response = await client.SendAsync(Messages(secret, "refused-model"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(before, fixture.Secondary.Requests.Count);
        var retryAfter = int.Parse(response.Headers.GetValues("retry-after").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 30);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("error", document.RootElement.GetProperty("type").GetString());
        Assert.Equal("overloaded_error", document.RootElement.GetProperty("error").GetProperty("type").GetString());
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal("503", usage["status"]);
        Assert.Equal("circuit_open", usage["error_type"]);
    }

    [Fact]
    public async Task The_admin_reset_closes_a_breaker_on_every_gateway_instance()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);
        var (admin, _) = await TestCredentials.CreateAsync(fixture.RedisClient, kind: CredentialKind.AdminKey);
        fixture.Primary.Handler = TwoUpstreamsFixture.Fail(502);
        for (var instance = 0; instance < 2; instance++)
        {
            using var client = Client(instance);
            for (var i = 0; i < 2; i++)
            {
                using var response = await client.SendAsync(Messages(secret, "claude-x"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            Assert.Equal("open", (await BreakerAsync(instance, admin, "primary")).GetProperty("state").GetString());
        }

        using (var client = Client(0))
        using (var reset = new HttpRequestMessage(HttpMethod.Post, "/admin/circuit-breaker/reset") { Content = new StringContent("""{"name":"primary"}""", Encoding.UTF8, "application/json") })
        {
            reset.Headers.TryAddWithoutValidation("x-api-key", admin);
            using var response = await client.SendAsync(reset);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(["primary"], document.RootElement.GetProperty("reset").EnumerateArray().Select(e => e.GetString()));
            Assert.True(document.RootElement.GetProperty("broadcast").GetBoolean());
        }

        Assert.Equal("closed", (await BreakerAsync(0, admin, "primary")).GetProperty("state").GetString());
        // The other instance hears it through Redis.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await BreakerAsync(1, admin, "primary")).GetProperty("state").GetString() != "closed")
        {
            Assert.True(DateTime.UtcNow < deadline, "the second instance did not close its breaker within 10 s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task The_breaker_routes_refuse_non_admins_and_bad_input_in_anthropic_shape()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);
        var (admin, _) = await TestCredentials.CreateAsync(fixture.RedisClient, kind: CredentialKind.AdminKey);
        using var client = Client();

        async Task<(HttpStatusCode Status, string? Type)> SendAsync(HttpMethod method, string path, string key, string? body = null)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            request.Headers.TryAddWithoutValidation("x-api-key", key);
            using var response = await client.SendAsync(request);
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return (response.StatusCode, document.RootElement.TryGetProperty("error", out var error) ? error.GetProperty("type").GetString() : null);
        }

        Assert.Equal((HttpStatusCode.Forbidden, "permission_error"), await SendAsync(HttpMethod.Get, "/admin/circuit-breaker", secret));
        Assert.Equal((HttpStatusCode.Forbidden, "permission_error"), await SendAsync(HttpMethod.Post, "/admin/circuit-breaker/reset", secret, "{}"));
        Assert.Equal((HttpStatusCode.Unauthorized, "authentication_error"), await SendAsync(HttpMethod.Get, "/admin/circuit-breaker", "sk-nope"));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request_error"), await SendAsync(HttpMethod.Post, "/admin/circuit-breaker/reset", admin, "[1]"));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request_error"), await SendAsync(HttpMethod.Post, "/admin/circuit-breaker/reset", admin, """{"name":3}"""));
        Assert.Equal((HttpStatusCode.NotFound, "not_found_error"), await SendAsync(HttpMethod.Post, "/admin/circuit-breaker/reset", admin, """{"name":"nope"}"""));
        Assert.Equal((HttpStatusCode.OK, null), await SendAsync(HttpMethod.Post, "/admin/circuit-breaker/reset", admin));
    }

    [Fact]
    public async Task A_configured_alias_reaches_the_upstream_and_usage_as_the_dated_model_id()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient, models: ["claude-sonnet-4-5-*"]);

        using var client = Client();
        using var response = await client.SendAsync(Messages(secret, "claude-sonnet-4-5"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var sent = JsonDocument.Parse(fixture.Primary.Requests.Single().Body);
        Assert.Equal("claude-sonnet-4-5-20250929", sent.RootElement.GetProperty("model").GetString());
        Assert.Equal(8, sent.RootElement.GetProperty("max_tokens").GetInt32());
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal("claude-sonnet-4-5-20250929", usage["model"]);
        Assert.Equal("primary", usage["upstream"]);
    }

    [Fact]
    public async Task Each_key_of_an_upstream_is_a_target_and_traffic_spreads_over_them()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);
        var (admin, _) = await TestCredentials.CreateAsync(fixture.RedisClient, kind: CredentialKind.AdminKey);
        using var client = Client();
        for (var i = 0; i < 40; i++)
        {
            using var response = await client.SendAsync(Messages(secret, "pool-model"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Equal weights: each key serves about half; both are used (the chance that one is never picked is 2^-39).
        var keys = fixture.Secondary.Requests.GroupBy(r => r.Header("x-api-key")).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(["key-pool-a", "key-pool-b"], keys.Keys.Order());
        Assert.Equal("pool", (await BreakerAsync(0, admin, "pool#1")).GetProperty("upstream").GetString());
        Assert.Equal("pool", (await BreakerAsync(0, admin, "pool#2")).GetProperty("upstream").GetString());
    }

    [Fact]
    public async Task A_messages_request_reaches_an_openai_compatible_upstream_only_as_chat_completions_and_count_tokens_not_at_all()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);
        fixture.Secondary.Handler = async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(context.Request.Path == "/v1/chat/completions"
                ? """{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"from oai"},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":8,"prompt_tokens_details":{"cached_tokens":2}}}"""
                : """{"unexpected":true}""");
        };
        using var client = Client();

        using var response = await client.SendAsync(Messages(secret, "gpt-4o-mini"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            var root = message.RootElement;
            Assert.Equal("message", root.GetProperty("type").GetString());
            Assert.Equal("from oai", root.GetProperty("content")[0].GetProperty("text").GetString());
            Assert.Equal("max_tokens", root.GetProperty("stop_reason").GetString());
            Assert.Equal(10, root.GetProperty("usage").GetProperty("input_tokens").GetInt32());
            Assert.Equal(2, root.GetProperty("usage").GetProperty("cache_read_input_tokens").GetInt32());
        }

        var sent = Assert.Single(fixture.Secondary.Requests);
        Assert.Equal("/v1/chat/completions", sent.PathAndQuery);
        Assert.Equal("Bearer key-oai", sent.Header("Authorization"));
        Assert.Null(sent.Header("x-api-key"));
        using (var body = JsonDocument.Parse(sent.Body))
        {
            Assert.Equal("user", body.RootElement.GetProperty("messages")[0].GetProperty("role").GetString());
            Assert.Equal(8, body.RootElement.GetProperty("max_tokens").GetInt32());
        }

        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal(("oai", "10", "8", "2"), (usage["upstream"], usage["input_tokens"], usage["output_tokens"], usage["cache_read_input_tokens"]));

        // count_tokens has no Chat Completions equivalent: no upstream serves it for this model.
        using var count = new HttpRequestMessage(HttpMethod.Post, "/v1/messages/count_tokens")
        {
            Content = new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        count.Headers.TryAddWithoutValidation("x-api-key", secret);
        using var counted = await client.SendAsync(count);
        Assert.Equal(HttpStatusCode.NotFound, counted.StatusCode);
        Assert.Single(fixture.Secondary.Requests);
    }

    [Fact]
    public async Task An_openai_compatible_upstream_that_cuts_its_stream_ends_the_anthropic_stream_with_an_error_event()
    {
        var (secret, _) = await TestCredentials.CreateAsync(fixture.RedisClient);
        fixture.Secondary.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("""data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"half"}}]}""" + "\n\n");
            await context.Response.Body.FlushAsync();
            // Long enough for the gateway to have the headers (a reset before them is a connection failure, retried).
            await Task.Delay(300);
            context.Abort();
        };
        using var client = Client();
        using var request = Messages(secret, "gpt-4o-mini");
        request.Content = new StringContent("""{"model":"gpt-4o-mini","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        Assert.StartsWith("event: message_start", text, StringComparison.Ordinal);
        Assert.Contains("\"half\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("message_stop", text, StringComparison.Ordinal);
        Assert.Contains("event: error", text, StringComparison.Ordinal);
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal("1", usage["estimated"]);
    }

    [Fact]
    public void An_openai_compatible_target_sends_its_key_as_a_bearer_token_and_never_the_anthropic_header()
    {
        var target = new UpstreamEndpoint("oai", new Uri("http://127.0.0.1:1/"), "key-oai", "oai", UpstreamKind.OpenAI);
        Assert.Equal("Authorization", target.AuthHeader);
        Assert.Equal("Bearer ", target.AuthScheme);
    }
}
