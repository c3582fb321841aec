using System.Net;
using CredentialCache = LlmGateway.Gateway.Credentials.CredentialCache;
using System.Net.Http.Json;
using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Extensions;
using LlmGateway.Identity.Credentials;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Unit;

/// <summary>Resolution order cache → Redis → TokenService against a real Redis server.</summary>
public sealed class CredentialResolutionTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _multiplexer = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartNewAsync();
        _multiplexer = _redis.Connect();
    }

    public async Task DisposeAsync()
    {
        _multiplexer.Dispose();
        await _redis.DisposeAsync();
    }

    private (CredentialResolver Resolver, CredentialCache Cache) Create(StubHttpClientFactory tokenService, TimeProvider? time = null, CredentialChannel? channel = null)
    {
        if (channel is null)
        {
            // Revocations arrive (as when the gateway's listener is subscribed) unless a test says otherwise.
            channel = new CredentialChannel();
            channel.MarkLive();
        }

        var options = Options.Create(new CredentialCacheOptions
        {
            IntrospectionTimeout = TimeSpan.FromSeconds(2),
            RedisTimeout = TimeSpan.FromMilliseconds(500),
        });
        var cache = new CredentialCache(options, time ?? TimeProvider.System);
        var resolver = new CredentialResolver(
            cache,
            channel,
            new RedisCredentialStore(_multiplexer, options.Value.RedisTimeout, NullLogger<RedisCredentialStore>.Instance),
            new TokenServiceIntrospection(() => tokenService.CreateClient(GatewayServiceExtensions.IntrospectionClientName),
                options.Value.IntrospectionTimeout, NullLogger<TokenServiceIntrospection>.Instance),
            NullLogger<CredentialResolver>.Instance);
        return (resolver, cache);
    }

    [Fact]
    public async Task A_projection_in_Redis_is_found_and_then_served_from_the_cache()
    {
        var tokenService = StubHttpClientFactory.Unreachable();
        var (resolver, _) = Create(tokenService);
        var (secret, projection) = await TestCredentials.CreateAsync(_multiplexer, models: ["claude-*"]);
        var hash = CredentialHash.Compute(secret);

        var first = await resolver.ResolveAsync(hash, default);
        Assert.Equal(CredentialLookupStatus.Found, first.Status);
        Assert.Equal(projection.Id, first.Projection!.Id);
        Assert.Equal(["claude-*"], first.Projection.Models);

        await _multiplexer.GetDatabase().KeyDeleteAsync(RedisKeys.Credential(hash.ToHex()));
        Assert.Equal(CredentialLookupStatus.Found, (await resolver.ResolveAsync(hash, default)).Status);
        Assert.Equal(0, tokenService.Calls);
    }

    [Fact]
    public async Task A_credential_Redis_does_not_know_is_asked_of_TokenService()
    {
        var secret = CredentialFormat.Generate(CredentialKind.DeviceToken);
        var known = new CredentialProjection
        {
            Id = "dev_1", Kind = CredentialKind.DeviceToken, Hint = "h", DeviceId = "laptop-7",
            Owner = new CredentialOwner { Type = "device", Id = "laptop-7" },
        };
        string? askedHash = null;
        var tokenService = new StubHttpClientFactory(async request =>
        {
            Assert.Equal("/internal/introspect", request.RequestUri!.AbsolutePath);
            using var body = JsonDocument.Parse(await request.Content!.ReadAsStringAsync());
            askedHash = body.RootElement.GetProperty("hash").GetString();
            return askedHash == CredentialFormat.Hash(secret)
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(known) }
                : new HttpResponseMessage(HttpStatusCode.NotFound);
        });
        var (resolver, _) = Create(tokenService);

        var found = await resolver.ResolveAsync(CredentialHash.Compute(secret), default);
        Assert.Equal(CredentialLookupStatus.Found, found.Status);
        Assert.Equal("laptop-7", found.Projection!.DeviceId);
        Assert.Equal(CredentialFormat.Hash(secret), askedHash);

        var unknown = await resolver.ResolveAsync(CredentialHash.Compute(CredentialFormat.Generate(CredentialKind.ApiKey)), default);
        Assert.Equal(CredentialLookupStatus.NotFound, unknown.Status);
    }

    [Fact]
    public async Task Not_found_is_cached_for_about_a_second_so_a_new_credential_is_not_masked()
    {
        var time = new ManualTimeProvider();
        var tokenService = new StubHttpClientFactory(_ => Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound)));
        var (resolver, _) = Create(tokenService, time);
        var secret = CredentialFormat.Generate(CredentialKind.ApiKey);
        var hash = CredentialHash.Compute(secret);

        Assert.Equal(CredentialLookupStatus.NotFound, (await resolver.ResolveAsync(hash, default)).Status);
        Assert.Equal(CredentialLookupStatus.NotFound, (await resolver.ResolveAsync(hash, default)).Status);
        Assert.Equal(1, tokenService.Calls);

        // TokenService creates it now; once the negative entry expires the gateway sees it.
        var projection = new CredentialProjection { Id = "c", Kind = CredentialKind.ApiKey, Hint = "h", Owner = new CredentialOwner { Type = "user", Id = "u" } };
        await _multiplexer.GetDatabase().StringSetAsync(RedisKeys.Credential(hash.ToHex()), JsonSerializer.Serialize(projection));
        time.Advance(TimeSpan.FromMilliseconds(1100));
        Assert.Equal(CredentialLookupStatus.Found, (await resolver.ResolveAsync(hash, default)).Status);
    }

    [Fact]
    public async Task A_credential_Redis_does_not_know_is_unknown_when_TokenService_cannot_be_asked()
    {
        var (resolver, _) = Create(StubHttpClientFactory.Unreachable());
        var hash = CredentialHash.Compute(CredentialFormat.Generate(CredentialKind.ApiKey));
        Assert.Equal(CredentialLookupStatus.NotFound, (await resolver.ResolveAsync(hash, default)).Status);
    }

    [Fact]
    public async Task Concurrent_misses_for_one_credential_share_one_lookup()
    {
        var release = new TaskCompletionSource();
        var tokenService = new StubHttpClientFactory(async _ =>
        {
            await release.Task;
            return new HttpResponseMessage(HttpStatusCode.NotFound);
        });
        var (resolver, _) = Create(tokenService);
        var hash = CredentialHash.Compute(CredentialFormat.Generate(CredentialKind.ApiKey));

        var lookups = Enumerable.Range(0, 20).Select(_ => resolver.ResolveAsync(hash, default).AsTask()).ToArray();
        release.SetResult();
        var results = await Task.WhenAll(lookups);
        Assert.All(results, r => Assert.Equal(CredentialLookupStatus.NotFound, r.Status));
        Assert.Equal(1, tokenService.Calls);
    }

    [Fact]
    public async Task With_Redis_and_TokenService_down_a_recently_seen_credential_keeps_working_and_an_unknown_one_is_unavailable()
    {
        var time = new ManualTimeProvider();
        var (resolver, _) = Create(StubHttpClientFactory.Unreachable(), time);
        var (secret, _) = await TestCredentials.CreateAsync(_multiplexer);
        var hash = CredentialHash.Compute(secret);
        Assert.Equal(CredentialLookupStatus.Found, (await resolver.ResolveAsync(hash, default)).Status);

        await _redis.StopAsync();
        time.Advance(TimeSpan.FromMinutes(2)); // past the fresh TTL, within the stale window
        Assert.Equal(CredentialLookupStatus.Found, (await resolver.ResolveAsync(hash, default)).Status);

        var unknown = CredentialHash.Compute(CredentialFormat.Generate(CredentialKind.ApiKey));
        Assert.Equal(CredentialLookupStatus.Unavailable, (await resolver.ResolveAsync(unknown, default)).Status);
    }

    [Fact]
    public async Task A_revocation_message_evicts_the_credential_at_once()
    {
        var channel = new CredentialChannel();
        var (resolver, cache) = Create(new StubHttpClientFactory(_ => Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound))), channel: channel);
        var listener = new RevocationListener(_multiplexer, cache, channel, new DisabledAccounts(), NullLogger<RevocationListener>.Instance);
        await listener.StartAsync(default);
        try
        {
            await WaitUntilAsync(() => listener.IsSubscribed);
            var (secret, _) = await TestCredentials.CreateAsync(_multiplexer);
            var hash = CredentialHash.Compute(secret);
            Assert.Equal(CredentialLookupStatus.Found, (await resolver.ResolveAsync(hash, default)).Status);

            // TokenService revokes: projection deleted, then the broadcast.
            await _multiplexer.GetDatabase().KeyDeleteAsync(RedisKeys.Credential(hash.ToHex()));
            await _multiplexer.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), "revoked:" + hash.ToHex());

            await WaitUntilAsync(() => !cache.TryGet(hash, out _));
            Assert.Equal(CredentialLookupStatus.NotFound, (await resolver.ResolveAsync(hash, default)).Status);

            // "reprojected" drops everything.
            var (other, _) = await TestCredentials.CreateAsync(_multiplexer);
            var otherHash = CredentialHash.Compute(other);
            await resolver.ResolveAsync(otherHash, default);
            Assert.True(cache.TryGet(otherHash, out _));
            await _multiplexer.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), "reprojected");
            await WaitUntilAsync(() => cache.Count == 0);
        }
        finally
        {
            await listener.StopAsync(default);
        }
    }

    [Fact]
    public async Task After_the_subscription_connection_is_lost_the_cache_is_dropped_and_revocations_work_again()
    {
        var channel = new CredentialChannel();
        var (resolver, cache) = Create(new StubHttpClientFactory(_ => Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound))), channel: channel);
        var listener = new RevocationListener(_multiplexer, cache, channel, new DisabledAccounts(), NullLogger<RevocationListener>.Instance);
        await listener.StartAsync(default);
        try
        {
            await WaitUntilAsync(() => listener.IsSubscribed);
            var (secret, _) = await TestCredentials.CreateAsync(_multiplexer);
            var hash = CredentialHash.Compute(secret);
            await resolver.ResolveAsync(hash, default);

            Assert.True(channel.IsLive);
            await _redis.StopAsync();
            await WaitUntilAsync(() => !channel.IsLive);
            await _redis.StartAsync();
            await WaitUntilAsync(() => !cache.TryGet(hash, out _));
            await WaitUntilAsync(() => channel.IsLive);
            await WaitUntilAsync(async () =>
            {
                try
                {
                    await _multiplexer.GetDatabase().PingAsync();
                    return true;
                }
                catch (RedisConnectionException)
                {
                    return false;
                }
            });

            // Subscribed again: a revocation published now is received.
            await resolver.ResolveAsync(hash, default);
            Assert.True(cache.TryGet(hash, out _));
            await _multiplexer.GetDatabase().KeyDeleteAsync(RedisKeys.Credential(hash.ToHex()));
            await WaitUntilAsync(async () =>
            {
                await _multiplexer.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), "revoked:" + hash.ToHex());
                return !cache.TryGet(hash, out _);
            });
        }
        finally
        {
            await listener.StopAsync(default);
        }
    }

    [Fact]
    public async Task While_revocations_cannot_arrive_a_cached_credential_is_revalidated_with_TokenService_every_few_seconds()
    {
        var time = new ManualTimeProvider();
        var revoked = false;
        var projection = new CredentialProjection { Id = "c_outage", Kind = CredentialKind.ApiKey, Hint = "h", Owner = new CredentialOwner { Type = "user", Id = "u" } };
        var tokenService = new StubHttpClientFactory(_ => Task.FromResult(revoked
            ? new HttpResponseMessage(HttpStatusCode.NotFound)
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(projection) }));
        var channel = new CredentialChannel(); // the listener is not subscribed: Redis pub/sub is down
        var (resolver, _) = Create(tokenService, time, channel);
        var hash = CredentialHash.Compute(CredentialFormat.Generate(CredentialKind.ApiKey));

        Assert.Equal(CredentialLookupStatus.Found, (await resolver.ResolveAsync(hash, default)).Status);
        Assert.Equal(1, tokenService.Calls);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(CredentialLookupStatus.Found, (await resolver.ResolveAsync(hash, default)).Status);
        Assert.Equal(1, tokenService.Calls); // still within UnconfirmedTtl (2 s): served from the cache

        revoked = true; // revoked in PostgreSQL; the broadcast could not be sent
        time.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal(CredentialLookupStatus.NotFound, (await resolver.ResolveAsync(hash, default)).Status);
        Assert.Equal(2, tokenService.Calls);

        // With the channel live the same entry would have been trusted for the whole TTL (60 s).
        channel.MarkLive();
        revoked = false;
        var other = CredentialHash.Compute(CredentialFormat.Generate(CredentialKind.ApiKey));
        Assert.Equal(CredentialLookupStatus.Found, (await resolver.ResolveAsync(other, default)).Status);
        revoked = true;
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(CredentialLookupStatus.Found, (await resolver.ResolveAsync(other, default)).Status);
    }

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(25);
        }
    }
}
