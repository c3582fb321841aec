using System.Collections.Concurrent;

namespace LlmGateway.Gateway.Credentials;

/// <summary>
/// Resolves a credential hash: in-process cache → Redis projection → TokenService introspection. Never PostgreSQL.
/// Concurrent misses for one credential share a single lookup. When no source answers, a credential seen recently
/// keeps working (stale entry) so that a Redis and TokenService outage does not lock known callers out.
/// While revocation broadcasts cannot arrive (<see cref="CredentialChannel"/> down), cached credentials are re-validated
/// with TokenService first, every <c>UnconfirmedTtl</c>.
/// </summary>
internal sealed partial class CredentialResolver(
    CredentialCache cache,
    CredentialChannel channel,
    RedisCredentialStore redis,
    TokenServiceIntrospection tokenService,
    ILogger<CredentialResolver> logger)
{
    private readonly ConcurrentDictionary<CredentialHash, Task<CredentialLookup>> _inflight = new();

    public ValueTask<CredentialLookup> ResolveAsync(CredentialHash hash, CancellationToken cancellationToken)
    {
        if (cache.TryGet(hash, out var entry) && entry.IsFresh(cache.Now, channel.IsLive))
        {
            return ValueTask.FromResult(entry.Projection is { } projection
                ? CredentialLookup.Found(projection)
                : CredentialLookup.Refused(entry.Refusal));
        }

        return ResolveUncachedAsync(hash, entry, cancellationToken);
    }

    private async ValueTask<CredentialLookup> ResolveUncachedAsync(
        CredentialHash hash, CredentialCache.Entry? previous, CancellationToken cancellationToken)
    {
        Task<CredentialLookup>? lookup;
        while (!_inflight.TryGetValue(hash, out lookup))
        {
            var started = new TaskCompletionSource<CredentialLookup>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_inflight.TryAdd(hash, started.Task))
            {
                lookup = started.Task;
                _ = LookupAsync(hash, started);
                break;
            }
        }

        // The shared lookup is bounded by its own timeouts; one caller going away must not fail the others.
        var result = await lookup.WaitAsync(cancellationToken);
        if (result.Status == CredentialLookupStatus.Unavailable && previous is { } stale && stale.IsUsableWhenUnavailable(cache.Now))
        {
            LogServingStale(logger, stale.Projection!.Id);
            return CredentialLookup.Found(stale.Projection);
        }

        return result;
    }

    private async Task LookupAsync(CredentialHash hash, TaskCompletionSource<CredentialLookup> completion)
    {
        CredentialLookup result;
        try
        {
            result = await LookupCoreAsync(hash);
        }
        catch (Exception ex)
        {
            LogLookupFailed(logger, ex);
            result = CredentialLookup.Unavailable;
        }

        // Leave the in-flight table before completing: a caller that sees the result and asks again (for example
        // once the negative entry expired) must start a new lookup, not join this finished one.
        _inflight.TryRemove(new KeyValuePair<CredentialHash, Task<CredentialLookup>>(hash, completion.Task));
        completion.TrySetResult(result);
    }

    private async Task<CredentialLookup> LookupCoreAsync(CredentialHash hash)
    {
        var epoch = cache.Epoch;
        var hex = hash.ToHex();
        if (!channel.IsLive)
        {
            // Redis (or at least its pub/sub) is down, so a revocation may have been missed: the authority decides.
            var confirmed = await tokenService.FindAsync(hex);
            if (confirmed.Status != CredentialLookupStatus.Unavailable)
            {
                Store(hash, confirmed, epoch);
                return confirmed;
            }
        }

        var result = await redis.FindAsync(hex);
        if (result.Status != CredentialLookupStatus.Found)
        {
            // Missing in Redis (never projected, or Redis restarted empty) or Redis down: ask the authority.
            var fromRedis = result.Status;
            result = await tokenService.FindAsync(hex);
            if (result.Status == CredentialLookupStatus.Unavailable && fromRedis == CredentialLookupStatus.NotFound)
            {
                // Redis is up and does not know it, and the authority cannot be asked: almost always a wrong key.
                // Refusing it as unknown (401) is still closed, and does not invite SDK retries the way a 503 would.
                result = CredentialLookup.NotFound;
            }
        }

        Store(hash, result, epoch);
        return result;
    }

    private void Store(CredentialHash hash, CredentialLookup result, long epoch)
    {
        switch (result.Status)
        {
            case CredentialLookupStatus.Found:
                cache.StoreFound(hash, result.Projection!, epoch);
                break;
            case CredentialLookupStatus.NotFound:
                cache.StoreNotFound(hash, epoch, result.Refusal);
                break;
        }
    }

    [LoggerMessage(1121, LogLevel.Warning, "Redis and TokenService unavailable; credential {CredentialId} served from the stale cache")]
    private static partial void LogServingStale(ILogger logger, string credentialId);

    [LoggerMessage(1122, LogLevel.Error, "Credential lookup failed unexpectedly")]
    private static partial void LogLookupFailed(ILogger logger, Exception exception);
}
