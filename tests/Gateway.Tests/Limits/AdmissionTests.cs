using System.Globalization;
using System.Net.Http.Headers;
using System.Net;
using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Limits;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Limits;

/// <summary>The real gateway in-process with limits on: what a caller sees, and what every path settles.</summary>
public sealed class LimitGatewayFixture : GatewayFixture
{
    public const string TightOwner = "org_tight";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        [$"Limits:Owners:{TightOwner}:RequestsPerMinute"] = "3",
        ["Limits:Defaults:AgentToken:MaxConcurrent"] = "1",
    };

    protected override Task PrepareAsync() => RedisClient.GetDatabase().StringSetAsync(RedisKeys.BudgetSpentRebuilt, "test");

    /// <summary>Stores a projection the way TokenService does and returns the secret.</summary>
    public async Task<string> StoreAsync(CredentialProjection projection)
    {
        var secret = CredentialFormat.Generate(projection.Kind);
        await RedisClient.GetDatabase().StringSetAsync(RedisKeys.Credential(CredentialFormat.Hash(secret)), JsonSerializer.Serialize(projection));
        return secret;
    }
}

public sealed class AdmissionTests(LimitGatewayFixture fixture) : IClassFixture<LimitGatewayFixture>
{
    private const string Body = """{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}""";
    private const string Reply = """{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":20}}""";

    private void AnswerJson() => fixture.Upstream.Handler = async context =>
    {
        context.Response.Headers["anthropic-ratelimit-requests-limit"] = "4000";
        context.Response.Headers["anthropic-ratelimit-requests-remaining"] = "3999";
        context.Response.Headers["anthropic-ratelimit-tokens-remaining"] = "123456";
        context.Response.Headers["anthropic-ratelimit-input-tokens-remaining"] = "77";
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(Reply);
    };

    [Fact]
    public async Task Every_response_carries_the_tightest_limits_and_they_replace_the_upstreams_own()
    {
        AnswerJson();
        var secret = await fixture.StoreAsync(LimitHarness.Credential(
            new CredentialLimits { RequestsPerMinute = 10, TokensPerMinute = 100_000 }, LimitGatewayFixture.TightOwner));

        var sentAt = DateTimeOffset.UtcNow;
        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Credential: 10 − 1 = 9 left; owner: 3 − (this and earlier tests' requests) — the owner is tighter either way.
        Assert.Equal("3", response.Headers.GetValues("anthropic-ratelimit-requests-limit").Single());
        var remaining = int.Parse(response.Headers.GetValues("anthropic-ratelimit-requests-remaining").Single(), CultureInfo.InvariantCulture);
        Assert.InRange(remaining, 0, 2);
        Assert.Equal("100000", response.Headers.GetValues("anthropic-ratelimit-tokens-limit").Single());
        // 123 bytes / 4 rounded up + max_tokens 64 are held until the response is settled.
        Assert.Equal((100_000 - ((Body.Length + 3) / 4 + 64)).ToString(CultureInfo.InvariantCulture),
            response.Headers.GetValues("anthropic-ratelimit-tokens-remaining").Single());
        var reset = response.Headers.GetValues("anthropic-ratelimit-requests-reset").Single();
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$", reset);
        // The end of the window the request was admitted in: after it was sent (not after now: a minute may have
        // turned since), and at most a minute after now.
        Assert.InRange(DateTimeOffset.Parse(reset, CultureInfo.InvariantCulture), sentAt, DateTimeOffset.UtcNow.AddSeconds(61));
        Assert.Equal(reset, response.Headers.GetValues("anthropic-ratelimit-tokens-reset").Single());
        // Families the gateway does not limit pass through from the upstream.
        Assert.Equal("77", response.Headers.GetValues("anthropic-ratelimit-input-tokens-remaining").Single());
    }

    [Fact]
    public async Task Over_a_rate_limit_the_caller_gets_429_rate_limit_error_with_retry_after_and_the_upstream_is_not_called()
    {
        AnswerJson();
        var secret = await fixture.StoreAsync(LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 2 }));
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        var before = fixture.Upstream.Requests.Count;
        for (var i = 0; i < 3 || refused is null; i++)
        {
            var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                response.Dispose();
            }
        }

        using (refused)
        {
            // At most 2 per window (a window boundary in between allows 2 more, never 3 in a row).
            Assert.DoesNotContain(statuses.Chunk(3), chunk => chunk.Length == 3 && chunk.All(s => s == HttpStatusCode.OK));
            using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
            Assert.Equal("rate_limit_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("2 requests per minute", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            var retryAfter = int.Parse(refused.Headers.GetValues("retry-after").Single(), CultureInfo.InvariantCulture);
            Assert.InRange(retryAfter, 1, 60);
            Assert.False(refused.Headers.Contains("x-should-retry"));
            Assert.Equal("0", refused.Headers.GetValues("anthropic-ratelimit-requests-remaining").Single());
            Assert.Equal("2", refused.Headers.GetValues("anthropic-ratelimit-requests-limit").Single());
        }

        Assert.Equal(statuses.Count(s => s == HttpStatusCode.OK), fixture.Upstream.Requests.Count - before);
    }

    [Fact]
    public async Task An_exhausted_budget_is_a_402_billing_error_the_sdks_do_not_retry()
    {
        AnswerJson();
        var secret = await fixture.StoreAsync(LimitHarness.Credential(new CredentialLimits { BudgetUsd = 0.000001m, BudgetPeriod = "daily" }));
        var before = fixture.Upstream.Requests.Count;

        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body));

        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("billing_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        var message = error.RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("daily budget", message, StringComparison.Ordinal);
        Assert.Contains("00:00 UTC", message, StringComparison.Ordinal);
        Assert.Equal(before, fixture.Upstream.Requests.Count);
    }

    [Fact]
    public async Task A_model_without_a_price_is_refused_for_a_budgeted_credential_and_forwarded_for_others()
    {
        AnswerJson();
        const string unknown = """{"model":"claude-unpriced-9","max_tokens":8,"messages":[]}""";
        var budgeted = await fixture.StoreAsync(LimitHarness.Credential(new CredentialLimits { BudgetUsd = 5 }));
        var free = await fixture.StoreAsync(LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 100 }));

        using var refused = await fixture.Client.SendAsync(GatewayFixture.Messages(budgeted, unknown));
        using var forwarded = await fixture.Client.SendAsync(GatewayFixture.Messages(free, unknown));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("No price is configured for model 'claude-unpriced-9'", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
    }

    [Fact]
    public async Task A_stream_the_client_abandons_and_a_failed_upstream_are_settled_releasing_the_slot_and_charging_what_was_used()
    {
        // Agent tokens default to one request at a time (Limits:Defaults:AgentToken:MaxConcurrent).
        var credential = LimitHarness.Credential(new CredentialLimits { TokensPerMinute = 1_000_000 }, kind: CredentialKind.AgentToken);
        var secret = await fixture.StoreAsync(credential);
        const string start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":1000,\"output_tokens\":1}}}\n\n";
        fixture.Upstream.ResetAborted();
        var upstreamAborted = fixture.Upstream.Aborted.Task;
        fixture.Upstream.Handler = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync(start);
            await context.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        };
        const string stream = """{"model":"claude-haiku-4-5","max_tokens":500,"stream":true,"messages":[]}""";

        using var client = fixture.Gateway.CreateClient();
        var response = await client.SendAsync(GatewayFixture.Messages(secret, stream), HttpCompletionOption.ResponseHeadersRead);
        var requestId = response.Headers.GetValues("request-id").Single();
        using (var second = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, stream)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode); // the one slot is taken
            Assert.Contains("concurrent", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[start.Length];
        await body.ReadAtLeastAsync(buffer, start.Length);
        response.Dispose(); // the client goes away mid-stream
        await upstreamAborted.WaitAsync(TimeSpan.FromSeconds(30));
        await UsageStream.WaitForAsync(fixture.RedisClient, requestId); // emitted after settlement

        var db = fixture.RedisClient.GetDatabase();
        Assert.Equal(0, await db.SortedSetLengthAsync(LimitKeys.InFlight(LimitKeys.Base("cred", credential.Id))));
        var price = PriceTable.BuiltIn.Find("claude-haiku-4-5")!.Price;
        var charged = (long)await db.StringGetAsync(RedisKeys.BudgetSpent("cred", credential.Id, "total"));
        Assert.Equal(price.CostNanoUsd(new TokenUsage(1000, 1)), charged);

        // The upstream fails before answering: the slot is released too.
        fixture.Upstream.Handler = context =>
        {
            context.Abort();
            return Task.CompletedTask;
        };
        using (var failed = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body)))
        {
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
            await UsageStream.WaitForAsync(fixture.RedisClient, failed.Headers.GetValues("request-id").Single());
        }

        Assert.Equal(0, await db.SortedSetLengthAsync(LimitKeys.InFlight(LimitKeys.Base("cred", credential.Id))));
        AnswerJson();
        using var next = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }
}

public sealed class UnmeteredAdmissionTests(LimitGatewayFixture fixture) : IClassFixture<LimitGatewayFixture>
{
    [Theory]
    [InlineData("/v1/models")]
    [InlineData("/v1/models/claude-haiku-4-5")]
    [InlineData("/v1/some/future/route")]
    public async Task Routes_that_consume_no_tokens_still_count_against_requests_per_minute(string path)
    {
        fixture.Upstream.Handler = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(path == "/v1/models"
                ? """{"data":[{"type":"model","id":"claude-haiku-4-5","display_name":"Haiku","created_at":"2025-10-01T00:00:00Z"}],"has_more":false,"first_id":"claude-haiku-4-5","last_id":"claude-haiku-4-5"}"""
                : """{"type":"model","id":"claude-haiku-4-5"}""");
        };
        var secret = await fixture.StoreAsync(LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 2 }));
        var before = fixture.Upstream.Requests.Count;

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 6; i++)
        {
            last?.Dispose();
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("x-api-key", secret);
            // An Anthropic client (an OpenAI one is answered /v1/models/{id} from the gateway's cached list).
            request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
            last = await fixture.Client.SendAsync(request);
            statuses.Add(last.StatusCode);
        }

        // 6 requests span at most two minute windows: at most 4 pass, and the first refusal is a proper 429.
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.OK), 2, 4);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        var refused = statuses.IndexOf(HttpStatusCode.TooManyRequests);
        Assert.True(refused >= 2);
        Assert.NotNull(last!.Headers.RetryAfter ?? (statuses[^1] == HttpStatusCode.OK ? new RetryConditionHeaderValue(TimeSpan.Zero) : null));
        last.Dispose();
        if (path != "/v1/models")
        {
            // What was refused never reached the upstream (the list is served from the gateway's cache).
            Assert.Equal(statuses.Count(s => s == HttpStatusCode.OK), fixture.Upstream.Requests.Count - before);
        }
    }
}
