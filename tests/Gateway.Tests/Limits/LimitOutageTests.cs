using System.Net;
using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Limits;

/// <summary>A gateway of its own whose Redis these tests stop and start.</summary>
public sealed class LimitOutageFixture : GatewayFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Limits:RedisRetryInterval"] = "00:00:00.100",
    };

    protected override async Task PrepareAsync()
    {
        // Every write reaches the append-only file before it is acknowledged: the restart must not lose spend.
        using var admin = await Redis.ConnectAdminAsync();
        await admin.GetServer(admin.GetEndPoints()[0]).ConfigSetAsync("appendfsync", "always");
        await admin.GetDatabase().StringSetAsync(RedisKeys.BudgetSpentRebuilt, "test");
    }
}

public sealed class LimitOutageTests(LimitOutageFixture fixture) : IClassFixture<LimitOutageFixture>
{
    private const string Body = """{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}""";

    [Fact]
    public async Task With_Redis_stopped_limits_follow_the_policies_each_transition_is_logged_once_and_the_spend_arrives_afterwards()
    {
        fixture.Upstream.Handler = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("""{"type":"message","model":"claude-haiku-4-5","usage":{"input_tokens":10,"output_tokens":20}}""");
        };
        var rated = LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 3 });
        var budgeted = LimitHarness.Credential(new CredentialLimits { BudgetUsd = 5 });
        var ratedSecret = await Store(rated);
        var budgetedSecret = await Store(budgeted);

        // Known to the gateway (cached) before Redis goes away.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(ratedSecret));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(budgetedSecret));
        var admitted = 1;

        await fixture.Redis.StopAsync();
        List<(HttpStatusCode Status, string? Reset)> outage = [];
        try
        {
            // 7 against a limit of 3: even if a minute boundary splits them, one window holds at least 4.
            for (var i = 0; i < 7; i++)
            {
                using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(ratedSecret, Body));
                outage.Add((response.StatusCode, response.Headers.TryGetValues("anthropic-ratelimit-requests-reset", out var reset) ? reset.Single() : null));
            }

            using var refused = await fixture.Client.SendAsync(GatewayFixture.Messages(budgetedSecret, Body));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal("api_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.True(refused.Headers.Contains("retry-after"));
        }
        finally
        {
            await fixture.Redis.StartAsync();
        }

        // Per instance, from zero: in a window the local limiter admits 3 (a window boundary in between restarts it).
        Assert.All(outage.GroupBy(o => o.Reset), window =>
            Assert.True(window.Count(o => o.Status == HttpStatusCode.OK) <= 3));
        Assert.Contains(outage, o => o.Status == HttpStatusCode.TooManyRequests);
        admitted += outage.Count(o => o.Status == HttpStatusCode.OK);

        // Back to Redis: the transition is logged once each way, and the spend kept meanwhile is added.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!fixture.Gateway.Logs.Lines.Any(l => l.Contains("shared through Redis again", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "limits did not return to Redis");
            if (await StatusAsync(budgetedSecret) == HttpStatusCode.OK)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(budgetedSecret));
        Assert.Single(fixture.Gateway.Logs.Lines, l => l.Contains("Limits fall back", StringComparison.Ordinal));
        Assert.Single(fixture.Gateway.Logs.Lines, l => l.Contains("shared through Redis again", StringComparison.Ordinal));

        var cost = PriceTable.BuiltIn.Find("claude-haiku-4-5")!.Price.CostNanoUsd(new TokenUsage(10, 20));
        var db = fixture.RedisClient.GetDatabase();
        while (true)
        {
            long spent;
            try
            {
                spent = (long?)await db.StringGetAsync(RedisKeys.BudgetSpent("cred", rated.Id, "total")) ?? 0;
            }
            catch (RedisConnectionException)
            {
                spent = -1;
            }

            if (spent == admitted * cost)
            {
                break;
            }

            Assert.True(spent < admitted * cost, $"spent {spent} nano-USD, more than the {admitted} requests cost");
            Assert.True(DateTime.UtcNow < deadline, $"the spend of the outage was not added: {spent} of {admitted * cost}");
            await Task.Delay(100);
        }
    }

    private async Task<HttpStatusCode> StatusAsync(string secret)
    {
        using var response = await fixture.Client.SendAsync(GatewayFixture.Messages(secret, Body));
        return response.StatusCode;
    }

    private async Task<string> Store(CredentialProjection projection)
    {
        var secret = CredentialFormat.Generate(projection.Kind);
        await fixture.RedisClient.GetDatabase().StringSetAsync(RedisKeys.Credential(CredentialFormat.Hash(secret)), JsonSerializer.Serialize(projection));
        return secret;
    }
}
