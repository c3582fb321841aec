using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Tests.Unit;

public class CredentialCacheTests
{
    private readonly ManualTimeProvider _time = new();

    private CredentialCache Create(int capacity = 100) => new(Options.Create(new CredentialCacheOptions
    {
        Capacity = capacity,
        Ttl = TimeSpan.FromSeconds(60),
        NegativeTtl = TimeSpan.FromSeconds(1),
        StaleTtl = TimeSpan.FromMinutes(15),
    }), _time);

    private static CredentialProjection Projection(DateTimeOffset? expiresAt = null) => new()
    {
        Id = "c1",
        Kind = CredentialKind.ApiKey,
        Hint = "lgw_key_…abcd",
        Owner = new CredentialOwner { Type = "user", Id = "u1" },
        ExpiresAt = expiresAt,
    };

    private static CredentialHash NewHash() => CredentialHash.Compute(CredentialFormat.Generate(CredentialKind.ApiKey));

    [Fact]
    public void A_found_credential_is_fresh_for_the_ttl_then_only_usable_when_sources_are_down()
    {
        var cache = Create();
        var hash = NewHash();
        cache.StoreFound(hash, Projection(), cache.Epoch);

        Assert.True(cache.TryGet(hash, out var entry));
        Assert.True(entry.IsFresh(cache.Now));

        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(cache.TryGet(hash, out entry));
        Assert.False(entry.IsFresh(cache.Now));
        Assert.True(entry.IsUsableWhenUnavailable(cache.Now));

        _time.Advance(TimeSpan.FromMinutes(15));
        Assert.False(entry.IsUsableWhenUnavailable(cache.Now));
    }

    [Fact]
    public void Freshness_never_outlives_the_credential()
    {
        var cache = Create();
        var hash = NewHash();
        cache.StoreFound(hash, Projection(_time.GetUtcNow().AddSeconds(5)), cache.Epoch);
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.True(cache.TryGet(hash, out var entry));
        Assert.False(entry.IsFresh(cache.Now));
    }

    [Fact]
    public void Not_found_is_remembered_only_briefly()
    {
        var cache = Create();
        var hash = NewHash();
        cache.StoreNotFound(hash, cache.Epoch);
        Assert.True(cache.TryGet(hash, out var entry));
        Assert.True(entry.IsFresh(cache.Now));
        Assert.Null(entry.Projection);
        Assert.False(entry.IsUsableWhenUnavailable(cache.Now));

        _time.Advance(TimeSpan.FromMilliseconds(1001));
        Assert.False(entry.IsFresh(cache.Now));
    }

    [Fact]
    public void A_lookup_that_raced_with_a_revocation_is_not_stored()
    {
        var cache = Create();
        var hash = NewHash();
        var epochAtLookupStart = cache.Epoch;
        cache.Evict(hash); // the revocation arrives while the lookup is in flight
        cache.StoreFound(hash, Projection(), epochAtLookupStart);
        Assert.False(cache.TryGet(hash, out _));

        cache.StoreFound(hash, Projection(), cache.Epoch);
        Assert.True(cache.TryGet(hash, out _));
        cache.Clear();
        Assert.False(cache.TryGet(hash, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void The_cache_stays_within_its_capacity()
    {
        var cache = Create(capacity: 50);
        for (var i = 0; i < 500; i++)
        {
            cache.StoreFound(NewHash(), Projection(), cache.Epoch);
        }

        Assert.InRange(cache.Count, 1, 50);
    }
}
