using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmGateway.Testing;
using LlmGateway.Gateway.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace LlmGateway.Gateway.Tests.Integration;

[CollectionDefinition(Name)]
public sealed class ReplicatedAppCollection : ICollectionFixture<ReplicatedAppFixture>
{
    public const string Name = "whole app, two gateways";
}

/// <summary>The whole app with two gateway replicas, and external <c>sk_live_</c> keys accepted by TokenService and the gateways.</summary>
public sealed class ReplicatedAppFixture : IAsyncLifetime
{
    private readonly string _spool = Directory.CreateTempSubdirectory("gw-app2-spool-").FullName;

    public TestApp App { get; private set; } = null!;
    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        App = await TestAppBuilder.Create()
            .WithResources("gateway")
            .WithReplicas("gateway", 2)
            .WithEnvironment("gateway", "ExternalKeys__Patterns__0__Prefix", "sk_live_")
            .WithEnvironment("gateway", "Gateway__Usage__SpoolDirectory", _spool)
            .WithEnvironment("tokenservice", "ExternalKeys__Patterns__0__Prefix", "sk_live_")
            // Upstream OAuth accounts (UpstreamOAuthTests): refresh one second before expiry, so short-lived simulator
            // tokens are refreshed when due rather than at once.
            .WithEnvironment("tokenservice", "UpstreamOAuth__RefreshMargin", "00:00:01")
            .StartAsync(timeout.Token);
        Redis = ConnectionMultiplexer.Connect((await App.GetConnectionStringAsync("redis"))! + ",abortConnect=false");
    }

    public async Task DisposeAsync()
    {
        Redis?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        Directory.Delete(_spool, recursive: true);
    }

    public Uri Gateway(int replica) => App.GetEndpoint("gateway", replica);

    public Anthropic.AnthropicClient Sdk(int replica, string secret, bool bearer = false) => new()
    {
        ApiKey = bearer ? null : secret,
        AuthToken = bearer ? secret : null,
        BaseUrl = Gateway(replica).ToString().TrimEnd('/'),
        MaxRetries = 0,
    };

    public async Task<JsonDocument> AdminAsync(HttpMethod method, string path, object? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var http = new HttpClient { BaseAddress = Gateway(0) };
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", App.GetParameter("admin-key"));
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text.Length == 0 ? "{}" : text);
    }
}

[Collection(ReplicatedAppCollection.Name)]
public sealed class CredentialLifecycleTests(ReplicatedAppFixture app, ITestOutputHelper output)
{
    private static readonly MessageCreateParams Ask = new()
    {
        Model = "claude-haiku-4-5",
        MaxTokens = 16,
        Messages = [new UserMessageParam { Content = "hi" }],
    };

    [Fact]
    public async Task Revoked_credential_is_rejected_by_every_gateway_instance()
    {
        using var created = await app.AdminAsync(HttpMethod.Post, "/admin/credentials",
            new { name = "to revoke", owner = new { type = "organization", id = "org_lifecycle" } }, HttpStatusCode.Created);
        var id = created.RootElement.GetProperty("id").GetString()!;
        var secret = created.RootElement.GetProperty("secret").GetString()!;

        // Both instances know (and cache) the credential.
        await app.Sdk(0, secret).Messages.Create(Ask);
        await app.Sdk(1, secret).Messages.Create(Ask);

        var revokedAt = System.Diagnostics.Stopwatch.StartNew();
        using (var revoked = await app.AdminAsync(HttpMethod.Post, $"/admin/credentials/{id}/revoke", new { reason = "test" }))
        {
            var propagation = revoked.RootElement.GetProperty("propagation");
            Assert.True(propagation.GetProperty("confirmed").GetBoolean());
            // Both replicas subscribe; one may still be re-subscribing after another test restarted Redis (its cache
            // was dropped on reconnect, so it cannot hold the credential either).
            Assert.InRange(propagation.GetProperty("gateways_notified").GetInt64(), 1, 2);
        }

        await AssertRefusedByBothAsync(secret, TimeSpan.FromSeconds(30));

        // The target is under a second; asserted generously so that a busy CI machine does not fail it.
        output.WriteLine($"revocation took effect on both gateway instances {revokedAt.Elapsed.TotalMilliseconds:0} ms after the admin call started");
        Assert.True(revokedAt.Elapsed < TimeSpan.FromSeconds(5), $"revocation took {revokedAt.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task A_revocation_made_while_Redis_is_down_takes_effect_within_seconds_and_says_it_is_unconfirmed()
    {
        using var created = await app.AdminAsync(HttpMethod.Post, "/admin/credentials",
            new { name = "revoked during an outage", owner = new { type = "organization", id = "org_lifecycle" } }, HttpStatusCode.Created);
        var id = created.RootElement.GetProperty("id").GetString()!;
        var secret = created.RootElement.GetProperty("secret").GetString()!;
        await app.Sdk(0, secret).Messages.Create(Ask);
        await app.Sdk(1, secret).Messages.Create(Ask);

        await app.App.StopResourceAsync("redis");
        try
        {
            // Cached credentials keep working through the outage (TokenService confirms them)...
            await app.Sdk(0, secret).Messages.Create(Ask);
            await app.Sdk(1, secret).Messages.Create(Ask);

            var revokedAt = System.Diagnostics.Stopwatch.StartNew();
            using (var revoked = await app.AdminAsync(HttpMethod.Post, $"/admin/credentials/{id}/revoke", new { reason = "outage" }))
            {
                var propagation = revoked.RootElement.GetProperty("propagation");
                Assert.False(propagation.GetProperty("confirmed").GetBoolean());
                Assert.Equal(JsonValueKind.Null, propagation.GetProperty("gateways_notified").ValueKind);
                var window = propagation.GetProperty("effective_within_seconds").GetInt32();
                Assert.InRange(window, 1, 10);
                Assert.Contains("Redis is unreachable", propagation.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }

            // ...and a revocation nobody could broadcast still reaches both instances within seconds.
            await AssertRefusedByBothAsync(secret, TimeSpan.FromSeconds(30));
            output.WriteLine($"unbroadcast revocation took effect on both instances after {revokedAt.Elapsed.TotalMilliseconds:0} ms");
            Assert.True(revokedAt.Elapsed < TimeSpan.FromSeconds(10), $"revocation took {revokedAt.Elapsed.TotalMilliseconds:0} ms");
        }
        finally
        {
            await app.App.StartResourceAsync("redis");
            await WaitUntilRedisIsBackEverywhereAsync();
        }
    }

    /// <summary>
    /// The tests after this one need the stack as it was: both gateways subscribed to the credential channel again and
    /// TokenService's Redis connection back (its health check pings Redis), or a revocation they make is not broadcast.
    /// </summary>
    private async Task WaitUntilRedisIsBackEverywhereAsync()
    {
        using var tokenService = app.App.CreateHttpClient("tokenservice");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var subscribed = DateTime.UtcNow < deadline && await SubscribersAsync() >= 2;
            var healthy = false;
            try
            {
                using var health = await tokenService.GetAsync("/health");
                healthy = health.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
            }

            if ((subscribed && healthy) || DateTime.UtcNow >= deadline)
            {
                return;
            }

            await Task.Delay(100);
        }
    }

    private async Task<long> SubscribersAsync()
    {
        try
        {
            var reply = await app.Redis.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", LlmGateway.Contracts.RedisKeys.CredentialEvents);
            return (long)((RedisResult[])reply!)[1];
        }
        catch (RedisException)
        {
            return 0;
        }
    }

    private async Task AssertRefusedByBothAsync(string secret, TimeSpan within)
    {
        // The revocation reaches both caches (pub/sub is asynchronous, so allow it a moment to land).
        foreach (var replica in new[] { 0, 1 })
        {
            var deadline = DateTime.UtcNow + within;
            while (true)
            {
                try
                {
                    await app.Sdk(replica, secret).Messages.Create(Ask);
                    Assert.True(DateTime.UtcNow < deadline, $"gateway {replica} still accepts a revoked credential");
                    await Task.Delay(20);
                }
                catch (AnthropicUnauthorizedException)
                {
                    break;
                }
            }
        }
    }

    [Fact]
    public async Task An_agent_token_minted_through_the_gateway_works_and_is_attributed_to_its_agent()
    {
        using var created = await app.AdminAsync(HttpMethod.Post, "/admin/credentials",
            new { owner = new { type = "organization", id = "org_agents" }, models = new[] { "claude-haiku-*" } }, HttpStatusCode.Created);
        var parent = created.RootElement.GetProperty("secret").GetString()!;

        // creddy's flow: POST /v1/tokens on the proxy with the parent credential.
        using var http = new HttpClient { BaseAddress = app.Gateway(1) };
        using var mint = new HttpRequestMessage(HttpMethod.Post, "/v1/tokens") { Content = JsonContent.Create(new { ttl = "1h", agent_name = "my-agent" }) };
        mint.Headers.TryAddWithoutValidation("x-api-key", parent);
        using var minted = await http.SendAsync(mint);
        Assert.True(minted.IsSuccessStatusCode, await minted.Content.ReadAsStringAsync());
        using var token = JsonDocument.Parse(await minted.Content.ReadAsStringAsync());
        var agentToken = token.RootElement.GetProperty("token").GetString()!;
        Assert.StartsWith("lgw_agt_", agentToken);

        await app.Sdk(0, agentToken, bearer: true).Messages.Create(Ask);
        await Assert.ThrowsAsync<AnthropicForbiddenException>(() => app.Sdk(0, agentToken).Messages.Create(Ask with { Model = "claude-opus-4-6" }));

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var events = await UsageStream.ReadAllAsync(app.Redis);
            var mine = events.Where(e => e.GetValueOrDefault("agent_name") == "my-agent" && e.GetValueOrDefault("owner_id") == "org_agents").ToList();
            if (mine.Count == 2)
            {
                Assert.All(mine, e => Assert.Equal("agent_token", e["credential_kind"]));
                Assert.Contains(mine, e => e["status"] == "200");
                Assert.Contains(mine, e => e["status"] == "403");
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{mine.Count} usage events for the agent");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_registered_external_key_works_and_an_unregistered_one_does_not()
    {
        var registered = "sk_live_" + Guid.NewGuid().ToString("N");
        using (await app.AdminAsync(HttpMethod.Post, "/admin/credentials",
                   new { external_key = registered, owner = new { type = "organization", id = "customer-1" } }, HttpStatusCode.Created))
        {
        }

        var message = await app.Sdk(1, registered, bearer: true).Messages.Create(Ask);
        Assert.NotEmpty(message.Content);
        await Assert.ThrowsAsync<AnthropicUnauthorizedException>(
            () => app.Sdk(1, "sk_live_" + Guid.NewGuid().ToString("N"), bearer: true).Messages.Create(Ask));
    }
}
