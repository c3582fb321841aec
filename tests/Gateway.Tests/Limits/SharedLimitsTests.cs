using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmGateway.Testing;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Limits;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Limits;

[CollectionDefinition(Name)]
public sealed class SharedLimitsCollection : ICollectionFixture<SharedLimitsFixture>
{
    public const string Name = "whole app, two gateways, shared limits";
}

/// <summary>The whole app (demo mode: the simulator is the upstream) with two gateway replicas sharing one Redis.</summary>
public sealed class SharedLimitsFixture : IAsyncLifetime
{
    private readonly string _spool = Directory.CreateTempSubdirectory("gw-limits-spool-").FullName;

    public TestApp App { get; private set; } = null!;

    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public HttpClient Simulator { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        App = await TestAppBuilder.Create()
            .WithResources("gateway")
            .WithReplicas("gateway", 2)
            .WithEnvironment("gateway", "Gateway__Usage__SpoolDirectory", _spool)
            .WithEnvironment("gateway", "Limits__RedisRetryInterval", "00:00:00.200")
            // Not the 250 ms of the hot path: twenty concurrent requests on a loaded machine can keep a healthy Redis
            // busy that long, and a spurious fallback refuses budgeted requests (503). A stopped Redis is noticed by
            // the lost connection, not by this timeout.
            .WithEnvironment("gateway", "Limits__RedisTimeout", "00:00:05")
            .StartAsync(timeout.Token);
        Redis = ConnectionMultiplexer.Connect((await App.GetConnectionStringAsync("redis"))! + ",abortConnect=false");
        Simulator = App.CreateHttpClient("upstream");

        // Budgets are enforced once the UsageWorker has confirmed the spend counters complete (on its first check).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await Redis.GetDatabase().KeyExistsAsync(RedisKeys.BudgetSpentRebuilt))
        {
            Assert.True(DateTime.UtcNow < deadline, "the UsageWorker never marked the spend counters complete");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        Simulator?.Dispose();
        Redis?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        Directory.Delete(_spool, recursive: true);
    }

    public HttpClient Gateway(int replica) => new() { BaseAddress = App.GetEndpoint("gateway", replica), Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Creates an API key through TokenService's admin API on a gateway's address.</summary>
    public async Task<(string Id, string Secret)> CreateKeyAsync(object limits, string? owner = null)
    {
        using var created = await AdminAsync(HttpMethod.Post, "/admin/credentials", new Dictionary<string, object?>
        {
            ["name"] = "limits test",
            ["owner"] = new Dictionary<string, string> { ["type"] = "organization", ["id"] = owner ?? "org_" + Guid.NewGuid().ToString("N")[..10] },
            ["limits"] = limits,
        }, HttpStatusCode.Created);
        return (created.RootElement.GetProperty("id").GetString()!, created.RootElement.GetProperty("secret").GetString()!);
    }

    public async Task<JsonDocument> AdminAsync(HttpMethod method, string path, object? body = null, HttpStatusCode expected = HttpStatusCode.OK, int replica = 0)
    {
        using var http = Gateway(replica);
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", App.GetParameter("admin-key"));
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text.Length == 0 ? "{}" : text);
    }

    /// <summary>The limits view's entry for the credential itself.</summary>
    public async Task<JsonElement> LimitsAsync(string id, int replica = 0)
    {
        using var view = await AdminAsync(HttpMethod.Get, $"/admin/credentials/{id}/limits", replica: replica);
        return view.RootElement.Clone();
    }

    public static HttpRequestMessage Messages(string secret, string body, IReadOnlyDictionary<string, string>? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    /// <summary>The usage a Messages stream reported: input from message_start, output from the last message_delta.</summary>
    public static TokenUsage StreamUsage(string sse)
    {
        long input = 0, output = 0, cacheCreation = 0, cacheRead = 0;
        foreach (var line in sse.Split('\n'))
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            using var data = JsonDocument.Parse(line["data: ".Length..]);
            var type = data.RootElement.GetProperty("type").GetString();
            var usage = type switch
            {
                "message_start" => data.RootElement.GetProperty("message").GetProperty("usage"),
                "message_delta" => data.RootElement.GetProperty("usage"),
                _ => default,
            };
            if (usage.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            long Read(string name, long current) => usage.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : current;
            input = Read("input_tokens", input);
            output = Read("output_tokens", output);
            cacheCreation = Read("cache_creation_input_tokens", cacheCreation);
            cacheRead = Read("cache_read_input_tokens", cacheRead);
        }

        return new TokenUsage(input, output, cacheCreation, cacheRead);
    }
}

[Collection(SharedLimitsCollection.Name)]
public sealed class SharedLimitsTests(SharedLimitsFixture app)
{
    private const string Model = "claude-haiku-4-5";
    private static readonly ModelPrice Price = PriceTable.BuiltIn.Find(Model)!.Price;

    [Fact]
    public async Task Twenty_concurrent_requests_against_a_budget_for_N_admit_at_most_N_and_recorded_spend_stays_within_it()
    {
        const int n = 6;
        const string body = """{"model":"claude-haiku-4-5","max_tokens":300,"stream":true,"messages":[{"role":"user","content":"budget test"}]}""";
        // The reservation the gateway makes with its default settings.
        var worst = new LimitPlanner(Options.Create(new LimitOptions()), PriceTable.BuiltIn, TimeProvider.System)
            .Plan(new AdmissionRequest("req", LimitHarness.Credential(), "/v1/messages", Model, 300, true, Encoding.UTF8.GetByteCount(body))).WorstCaseNanoUsd;
        var budgetNano = (n * worst + 999) / 1000 * 1000; // whole micro-USD: N × worst ≤ budget < (N + 1) × worst
        Assert.True(budgetNano < (n + 1) * worst);
        var budgetUsd = budgetNano / LimitSubject.NanoPerUsd;
        var (id, secret) = await app.CreateKeyAsync(new { budget_usd = budgetUsd, budget_period = "monthly" });

        // Every admitted stream is held open by the simulator until its gate is released, so all 20 are in flight at once.
        var gates = Enumerable.Range(0, 20).Select(_ => "gate-" + Guid.NewGuid().ToString("N")).ToArray();
        using var gateway0 = app.Gateway(0);
        using var gateway1 = app.Gateway(1);
        var responses = await Task.WhenAll(gates.Select((gate, i) => (i % 2 == 0 ? gateway0 : gateway1).SendAsync(
            SharedLimitsFixture.Messages(secret, body, new Dictionary<string, string> { ["x-sim-gate"] = gate }),
            HttpCompletionOption.ResponseHeadersRead)));
        try
        {
            var admitted = responses.Select((r, i) => (Response: r, Gate: gates[i])).Where(x => x.Response.StatusCode == HttpStatusCode.OK).ToList();
            Assert.Equal(n, admitted.Count);
            foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
            {
                // Nothing is spent yet: the budget is only held by the requests in flight, so the refusal says "retry
                // later" (429 with retry-after), not "exhausted" (a 402 the SDKs never retry).
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.NotNull(refused.Headers.RetryAfter);
                using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
                Assert.Equal("rate_limit_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
                Assert.Contains("held by requests still in flight", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            }

            var held = await app.LimitsAsync(id);
            var budget = held.GetProperty("enforced")[0].GetProperty("budget");
            Assert.Equal(n * worst / LimitSubject.NanoPerUsd, budget.GetProperty("reserved_usd").GetDecimal());

            // Let them finish; each is settled before its response ends.
            var costs = 0L;
            foreach (var (response, gate) in admitted)
            {
                (await app.Simulator.PostAsync($"/sim/gates/{gate}/release?count=1000", null)).EnsureSuccessStatusCode();
                var usage = SharedLimitsFixture.StreamUsage(await response.Content.ReadAsStringAsync());
                Assert.True(usage.OutputTokens > 0);
                costs += Price.CostNanoUsd(usage);
            }

            var settled = (await app.LimitsAsync(id, replica: 1)).GetProperty("enforced")[0].GetProperty("budget");
            Assert.Equal(0m, settled.GetProperty("reserved_usd").GetDecimal());
            Assert.Equal(costs / LimitSubject.NanoPerUsd, settled.GetProperty("spent_usd").GetDecimal());
            Assert.True(costs <= budgetNano);
            Assert.Equal((budgetNano - costs) / LimitSubject.NanoPerUsd, settled.GetProperty("remaining_usd").GetDecimal());
            Assert.Equal(costs, (long)await app.Redis.GetDatabase().StringGetAsync(RedisKeys.BudgetSpent("cred", id, RedisKeys.BudgetPeriodKey("monthly", DateTimeOffset.UtcNow))));

            // What the UsageWorker recorded in PostgreSQL: every request (the refusals cost nothing), the same spend.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                using var report = await app.AdminAsync(HttpMethod.Get, $"/admin/usage?credential_id={id}");
                var totals = report.RootElement.GetProperty("totals");
                if (totals.GetProperty("requests").GetInt64() == 20)
                {
                    Assert.Equal(costs, totals.GetProperty("cost_nano_usd").GetInt64());
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, "the UsageWorker did not record the 20 requests");
                await Task.Delay(200);
            }
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_requests_per_minute_limit_across_two_instances_admits_exactly_the_limit_in_a_window()
    {
        const int limit = 7;
        const string body = """{"model":"claude-haiku-4-5","max_tokens":8,"messages":[{"role":"user","content":"rpm"}]}""";
        var (_, secret) = await app.CreateKeyAsync(new { requests_per_minute = limit });
        using var gateway0 = app.Gateway(0);
        using var gateway1 = app.Gateway(1);

        var results = await Task.WhenAll(Enumerable.Range(0, 3 * limit).Select(async i =>
        {
            using var response = await (i % 2 == 0 ? gateway0 : gateway1).SendAsync(SharedLimitsFixture.Messages(secret, body));
            return (response.StatusCode, Reset: response.Headers.GetValues("anthropic-ratelimit-requests-reset").Single(),
                RetryAfter: response.Headers.TryGetValues("retry-after", out var retry) ? retry.Single() : null);
        }));

        Assert.All(results, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.All(results.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests), r => Assert.NotNull(r.RetryAfter));
        // Grouped by window (the reset both instances report): never more than the limit, exactly the limit where any was refused.
        var windows = results.GroupBy(r => r.Reset).ToList();
        Assert.Contains(windows, w => w.Any(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        Assert.All(windows, w =>
        {
            var ok = w.Count(r => r.StatusCode == HttpStatusCode.OK);
            Assert.True(w.Any(r => r.StatusCode == HttpStatusCode.TooManyRequests) ? ok == limit : ok <= limit, $"window {w.Key}: {ok} admitted");
        });
    }

    [Fact]
    public async Task Tokens_per_minute_count_the_output_tokens_of_a_stream()
    {
        const int tpm = 1000;
        const string stream = """{"model":"claude-haiku-4-5","max_tokens":1500,"stream":true,"messages":[{"role":"user","content":"count these tokens"}]}""";
        const string small = """{"model":"claude-haiku-4-5","max_tokens":1,"messages":[{"role":"user","content":"next"}]}""";
        using var gateway0 = app.Gateway(0);
        using var gateway1 = app.Gateway(1);
        for (var attempt = 0; ; attempt++)
        {
            var (id, secret) = await app.CreateKeyAsync(new { tokens_per_minute = tpm });
            using var response = await gateway0.SendAsync(SharedLimitsFixture.Messages(secret, stream, new Dictionary<string, string> { ["x-sim-output-tokens"] = "1200" }));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var reset = response.Headers.GetValues("anthropic-ratelimit-tokens-reset").Single();
            var usage = SharedLimitsFixture.StreamUsage(await response.Content.ReadAsStringAsync());
            Assert.Equal(1200, usage.OutputTokens);

            // Settled before the stream ended: the window holds exactly what the stream used, its output included.
            var tokens = (await app.LimitsAsync(id, replica: 1)).GetProperty("enforced")[0].GetProperty("tokens_per_minute");
            if (tokens.GetProperty("reset").GetString() != reset && attempt == 0)
            {
                continue; // a minute boundary fell in between; the new window starts empty
            }

            Assert.Equal(usage.InputTokens + usage.OutputTokens, tokens.GetProperty("used").GetInt64());
            Assert.Equal(0, tokens.GetProperty("remaining").GetInt64());

            using var refused = await gateway1.SendAsync(SharedLimitsFixture.Messages(secret, small));
            if (refused.StatusCode == HttpStatusCode.OK && refused.Headers.GetValues("anthropic-ratelimit-tokens-reset").Single() != reset && attempt == 0)
            {
                continue;
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Contains("tokens per minute", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal("0", refused.Headers.GetValues("anthropic-ratelimit-tokens-remaining").Single());
            return;
        }
    }

    [Fact]
    public async Task The_official_sdk_surfaces_the_429_as_a_rate_limit_error_with_the_delay_from_retry_after()
    {
        var ask = new MessageCreateParams { Model = Model, MaxTokens = 8, Messages = [new UserMessageParam { Content = "sdk" }] };
        for (var attempt = 0; ; attempt++)
        {
            var (_, secret) = await app.CreateKeyAsync(new { requests_per_minute = 1 });
            var seen = new ResponseRecorder();
            var client = new AnthropicClient
            {
                ApiKey = secret,
                BaseUrl = app.App.GetEndpoint("gateway", attempt % 2).ToString().TrimEnd('/'),
                MaxRetries = 0,
                Handlers = [seen],
            };
            // The second request goes to the other instance.
            var seenByOther = new ResponseRecorder();
            var other = new AnthropicClient
            {
                ApiKey = secret,
                BaseUrl = app.App.GetEndpoint("gateway", (attempt + 1) % 2).ToString().TrimEnd('/'),
                MaxRetries = 0,
                Handlers = [seenByOther],
            };

            await client.Messages.Create(ask);
            AnthropicRateLimitException error;
            try
            {
                await other.Messages.Create(ask);
                Assert.True(attempt == 0, "a second request in the same minute was admitted");
                continue; // a minute boundary fell in between
            }
            catch (AnthropicRateLimitException e)
            {
                error = e;
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, error.StatusCode);
            var last = seenByOther.Last;
            var retryAfter = int.Parse(last.GetValues("retry-after").Single(), CultureInfo.InvariantCulture);
            Assert.InRange(retryAfter, 1, 60);
            // The window the delay runs out with is named too (RFC 3339, a whole minute).
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$", last.GetValues("anthropic-ratelimit-requests-reset").Single());
            Assert.Contains($"Retry after {retryAfter} s", error.Message, StringComparison.Ordinal);
            Assert.Equal("0", last.GetValues("anthropic-ratelimit-requests-remaining").Single());
            return;
        }
    }

    [Fact]
    public async Task The_official_sdk_raises_a_payment_required_error_for_an_exhausted_budget_and_does_not_retry_it()
    {
        var (_, secret) = await app.CreateKeyAsync(new { budget_usd = 0 });
        var seen = new ResponseRecorder();
        var client = new AnthropicClient
        {
            ApiKey = secret,
            BaseUrl = app.App.GetEndpoint("gateway", 1).ToString().TrimEnd('/'),
            MaxRetries = 2, // the default: it would retry a 429
            Handlers = [seen],
        };

        var error = await Assert.ThrowsAsync<AnthropicPaymentRequiredException>(() => client.Messages.Create(
            new MessageCreateParams { Model = Model, MaxTokens = 8, Messages = [new UserMessageParam { Content = "budget" }] }));

        Assert.Equal(HttpStatusCode.PaymentRequired, error.StatusCode);
        Assert.Contains("Budget exhausted", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, seen.Count);
    }

    [Fact]
    public async Task Tokens_minted_from_a_key_share_its_limits_on_every_instance_and_the_admin_view_shows_the_lineage()
    {
        const string body = """{"model":"claude-haiku-4-5","max_tokens":8,"messages":[{"role":"user","content":"minted"}]}""";
        string keyId;
        List<(string Id, string Secret)> tokens;
        for (var attempt = 0; ; attempt++)
        {
            (keyId, var keySecret) = await app.CreateKeyAsync(new { requests_per_minute = 3, max_concurrent = 10 });
            tokens = [];
            for (var i = 0; i < 2; i++)
            {
                using var http = app.Gateway(i);
                using var mint = new HttpRequestMessage(HttpMethod.Post, "/v1/tokens") { Content = JsonContent.Create(new { ttl = "10m", agent_name = "agent-" + i }) };
                mint.Headers.Authorization = new AuthenticationHeaderValue("Bearer", keySecret);
                using var minted = await http.SendAsync(mint);
                Assert.Equal(HttpStatusCode.OK, minted.StatusCode);
                using var json = JsonDocument.Parse(await minted.Content.ReadAsStringAsync());
                tokens.Add((json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("token").GetString()!));
            }

            var statuses = new List<(HttpStatusCode Status, string Reset)>();
            for (var i = 0; i < 6; i++)
            {
                using var http = app.Gateway(i % 2);
                using var response = await http.SendAsync(SharedLimitsFixture.Messages(tokens[i % 2].Secret, body));
                statuses.Add((response.StatusCode, response.Headers.GetValues("anthropic-ratelimit-requests-reset").Single()));
            }

            if (statuses.Select(s => s.Reset).Distinct().Count() > 1 && attempt == 0)
            {
                continue; // a minute boundary fell in between
            }

            // Each token copied the key's 3/min, yet together they get the key's 3.
            Assert.Equal(3, statuses.Count(s => s.Status == HttpStatusCode.OK));
            Assert.All(statuses.Skip(3), s => Assert.Equal(HttpStatusCode.TooManyRequests, s.Status));
            break;
        }

        var view = await app.LimitsAsync(tokens[0].Id, replica: 1);
        Assert.Equal("agent_token", view.GetProperty("kind").GetString());
        Assert.Equal(keyId, view.GetProperty("parent_id").GetString());
        var enforced = view.GetProperty("enforced").EnumerateArray().ToList();
        Assert.Equal(["credential", "ancestor", "owner"], enforced.Select(e => e.GetProperty("scope").GetString()));
        var ancestor = enforced[1];
        Assert.Equal(keyId, ancestor.GetProperty("id").GetString());
        Assert.Equal(3, ancestor.GetProperty("requests_per_minute").GetProperty("limit").GetInt32());
        Assert.Equal("credential", ancestor.GetProperty("requests_per_minute").GetProperty("source").GetString());
        Assert.Equal(0, ancestor.GetProperty("requests_per_minute").GetProperty("remaining").GetInt32());
        Assert.Equal(0, ancestor.GetProperty("concurrent").GetProperty("in_flight").GetInt32());
        Assert.True(view.GetProperty("usage_available").GetBoolean());

        // Without the admin key TokenService's refusal comes back unchanged.
        using var anonymous = app.Gateway(0);
        using var refused = await anonymous.GetAsync($"/admin/credentials/{keyId}/limits");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var unknown = await app.AdminAsync(HttpMethod.Get, "/admin/credentials/cred_nope/limits", expected: HttpStatusCode.NotFound);
        Assert.Equal("not_found_error", unknown.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task With_Redis_stopped_limits_follow_the_configured_policy_and_each_instance_logs_the_transition()
    {
        const string body = """{"model":"claude-haiku-4-5","max_tokens":8,"messages":[{"role":"user","content":"outage"}]}""";
        var (_, rated) = await app.CreateKeyAsync(new { requests_per_minute = 2 });
        var (budgetedId, budgeted) = await app.CreateKeyAsync(new { budget_usd = 10 });
        using var gateway0 = app.Gateway(0);
        using var gateway1 = app.Gateway(1);
        HttpClient[] gateways = [gateway0, gateway1];
        async Task<HttpStatusCode> Send(int replica, string secret)
        {
            using var response = await gateways[replica].SendAsync(SharedLimitsFixture.Messages(secret, body));
            return response.StatusCode;
        }

        int Count(string text) => app.App.GetLogs("gateway").Count(l => l.Contains(text, StringComparison.Ordinal));

        // The gateways log through the console logger's background queue and the AppHost reads their output as it
        // comes, so a line may land a moment after the response that caused it: wait for it, then count exactly.
        async Task AssertLoggedAsync(string text, int expected)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Count(text) < expected && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.Equal(expected, Count(text));
        }

        var fallbacksBefore = Count("Limits fall back");
        var restoredBefore = Count("shared through Redis again");

        // Both instances know both keys before Redis goes away.
        foreach (var replica in new[] { 0, 1 })
        {
            await Send(replica, rated);
            Assert.Equal(HttpStatusCode.OK, await Send(replica, budgeted));
        }

        await app.App.StopResourceAsync("redis");
        try
        {
            foreach (var replica in new[] { 0, 1 })
            {
                // Budgets fail closed (the default); requests/min is enforced by each instance on its own.
                Assert.Equal(HttpStatusCode.ServiceUnavailable, await Send(replica, budgeted));
                var statuses = new List<(HttpStatusCode Status, string? Reset)>();
                for (var i = 0; i < 5; i++)
                {
                    using var response = await gateways[replica].SendAsync(SharedLimitsFixture.Messages(rated, body));
                    statuses.Add((response.StatusCode,
                        response.Headers.TryGetValues("anthropic-ratelimit-requests-reset", out var reset) ? reset.Single() : null));
                }

                // At most 2 per window on this instance alone (5 requests span at most two windows).
                Assert.All(statuses.GroupBy(s => s.Reset), w => Assert.True(w.Count(s => s.Status == HttpStatusCode.OK) <= 2));
                Assert.Contains(statuses, s => s.Status == HttpStatusCode.TooManyRequests);
            }

            await AssertLoggedAsync("Limits fall back", fallbacksBefore + 2);
            Assert.Contains(app.App.GetLogs("gateway"), l => l.Contains("enforced by each instance on its own", StringComparison.Ordinal)
                && l.Contains("budgeted requests are refused (fail closed)", StringComparison.Ordinal));
        }
        finally
        {
            await app.App.StartResourceAsync("redis");
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (var replica in new[] { 0, 1 })
        {
            while (await Send(replica, budgeted) != HttpStatusCode.OK)
            {
                Assert.True(DateTime.UtcNow < deadline, $"gateway {replica} did not return to shared limits");
                await Task.Delay(200);
            }
        }

        await AssertLoggedAsync("shared through Redis again", restoredBefore + 2);
        Assert.Equal(fallbacksBefore + 2, Count("Limits fall back"));
        var view = await app.LimitsAsync(budgetedId);
        Assert.True(view.GetProperty("enforced")[0].GetProperty("budget").GetProperty("spent_usd").GetDecimal() > 0);
    }

    /// <summary>Keeps the headers of the last response the SDK received (its exceptions do not expose them).</summary>
    private sealed class ResponseRecorder : DelegatingHandler
    {
        private readonly ConcurrentQueue<HttpResponseHeaders> _responses = new();

        public HttpResponseHeaders Last => _responses.Last();

        public int Count => _responses.Count;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            _responses.Enqueue(response.Headers);
            return response;
        }
    }
}
