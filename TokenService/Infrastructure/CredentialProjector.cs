using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Model;
using StackExchange.Redis;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// Writes TokenService's changes into Redis, where the Gateway reads credentials: one JSON
/// <see cref="Contracts.Credentials.CredentialProjection"/> per active credential under <see cref="RedisKeys.Credential"/>,
/// expiring with the credential, and a message on <see cref="RedisKeys.CredentialEvents"/> for each change a Gateway
/// may have cached (<c>revoked:{hash}</c>, <c>updated:{hash}</c>).
/// </summary>
/// <remarks>
/// PostgreSQL is the source of truth and every caller has already decided there, so a Redis failure here is logged
/// and counted, never thrown: <see cref="FailureCount"/> changing tells <see cref="ProjectionMaintenanceService"/> to
/// re-project everything once Redis answers again. Every call is bounded by <see cref="Timeout"/> so that an
/// unresponsive Redis cannot hold an API request (or a row lock) for long.
/// </remarks>
public sealed partial class CredentialProjector(IConnectionMultiplexer redis, TokenServiceMetrics metrics, TimeProvider time, ILogger<CredentialProjector> logger)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private long _failures;

    /// <summary>How many projection writes have failed since start; a change means Redis may be out of date.</summary>
    public long FailureCount => Interlocked.Read(ref _failures);

    /// <summary>Projects a new credential (nothing can have cached it yet, so no event).</summary>
    public Task ProjectAsync(Credential credential) => WriteAsync(credential, publishUpdate: false);

    /// <summary>Projects a changed credential and tells every Gateway to drop its cached copy.</summary>
    public Task ProjectChangeAsync(Credential credential) => WriteAsync(credential, publishUpdate: true);

    /// <summary>
    /// Marks a local account disabled (or enabled again) in Redis and tells every gateway at once: its sign-in JWTs,
    /// which each service validates by itself, are refused from now on. Best effort like every projection write: with
    /// Redis down, gateways learn it when they re-subscribe and load the markers.
    /// </summary>
    public async Task PublishAccountStateAsync(string userId, bool disabled)
    {
        try
        {
            var database = redis.GetDatabase();
            var marker = disabled
                ? database.StringSetAsync(RedisKeys.DisabledAccount(userId), "1")
                : database.KeyDeleteAsync(RedisKeys.DisabledAccount(userId));
            await marker.WaitAsync(Timeout);
            await database.PublishAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), (disabled ? "account-disabled:" : "account-enabled:") + userId)
                .WaitAsync(Timeout);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            Interlocked.Increment(ref _failures);
            metrics.ProjectionFailed();
            LogRemoveFailed(e, 0, e.Message);
        }
    }

    /// <summary>
    /// Removes revoked credentials and broadcasts <c>revoked:{hash}</c> for each, in one round trip. Returns how many
    /// Gateway subscribers received the broadcast, or null when Redis could not be reached: then no Gateway was told,
    /// and each stops trusting its cached copy only by re-validating with TokenService while its channel is down.
    /// </summary>
    public async Task<long?> RemoveAsync(IReadOnlyCollection<Credential> credentials)
    {
        if (credentials.Count == 0)
        {
            return 0;
        }

        try
        {
            var batch = redis.GetDatabase().CreateBatch();
            var pending = new List<Task>(credentials.Count * 2);
            var published = new List<Task<long>>(credentials.Count);
            foreach (var credential in credentials)
            {
                pending.Add(batch.KeyDeleteAsync(RedisKeys.Credential(credential.Hash)));
                var publish = batch.PublishAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), "revoked:" + credential.Hash);
                pending.Add(publish);
                published.Add(publish);
            }

            batch.Execute();
            await Task.WhenAll(pending).WaitAsync(Timeout);
            foreach (var credential in credentials)
            {
                LogRemoved(credential.Id, credential.Hint);
            }

            return published.Min(p => p.Result);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            Interlocked.Increment(ref _failures);
            metrics.ProjectionFailed();
            LogRemoveFailed(e, credentials.Count, e.Message);
            return null;
        }
    }

    public Task<long?> RemoveAsync(Credential credential) => RemoveAsync([credential]);

    /// <summary>Writes a batch for a full re-projection; unlike the single writes, failures are thrown to the caller.</summary>
    public async Task WriteBatchAsync(IReadOnlyCollection<Credential> credentials)
    {
        var now = time.GetUtcNow();
        var batch = redis.GetDatabase().CreateBatch();
        var pending = new List<Task>(credentials.Count);
        foreach (var credential in credentials)
        {
            pending.Add(Write(batch, credential, now));
        }

        batch.Execute();
        await Task.WhenAll(pending).WaitAsync(Timeout);
    }

    /// <summary>Deletes keys without broadcasting (stale keys found by a re-projection, which itself broadcasts).</summary>
    public async Task<int> DeleteKeysAsync(IReadOnlyCollection<string> hashes)
    {
        if (hashes.Count == 0)
        {
            return 0;
        }

        var keys = hashes.Select(h => (RedisKey)RedisKeys.Credential(h)).ToArray();
        return (int)await redis.GetDatabase().KeyDeleteAsync(keys).WaitAsync(Timeout);
    }

    public static string Serialize(Credential credential) => CredentialProjectionJson.Write(credential.ToProjection());

    public static bool IsRedisFailure(Exception e) =>
        e is RedisException or TimeoutException or ObjectDisposedException or InvalidOperationException { Source: "StackExchange.Redis" };

    private async Task WriteAsync(Credential credential, bool publishUpdate)
    {
        try
        {
            var batch = redis.GetDatabase().CreateBatch();
            var write = Write(batch, credential, time.GetUtcNow());
            var publish = publishUpdate
                ? batch.PublishAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), "updated:" + credential.Hash)
                : Task.CompletedTask;
            batch.Execute();
            await Task.WhenAll(write, publish).WaitAsync(Timeout);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            Interlocked.Increment(ref _failures);
            metrics.ProjectionFailed();
            LogWriteFailed(e, credential.Id, credential.Hint, e.Message);
        }
    }

    // An inactive credential (revoked, expired) must not be in Redis at all; an active one expires with itself.
    private static Task Write(IDatabaseAsync database, Credential credential, DateTimeOffset now)
    {
        var key = RedisKeys.Credential(credential.Hash);
        if (credential.StatusAt(now) != CredentialStatus.Active)
        {
            return database.KeyDeleteAsync(key);
        }

        return credential.ExpiresAt is { } expiresAt
            ? database.StringSetAsync(key, Serialize(credential), expiresAt - now)
            : database.StringSetAsync(key, Serialize(credential));
    }

    [LoggerMessage(EventId = 2061, Level = LogLevel.Debug, Message = "Removed credential {CredentialId} ({Hint}) from Redis and broadcast its revocation")]
    private partial void LogRemoved(string credentialId, string hint);

    [LoggerMessage(EventId = 2062, Level = LogLevel.Warning, Message = "Could not project credential {CredentialId} ({Hint}) to Redis: {Reason}. It stays valid through introspection; a full re-projection follows when Redis answers")]
    private partial void LogWriteFailed(Exception exception, string credentialId, string hint, string reason);

    [LoggerMessage(EventId = 2063, Level = LogLevel.Warning, Message = "Could not remove {Count} revoked credential(s) from Redis: {Reason}. A full re-projection (which removes them) follows when Redis answers")]
    private partial void LogRemoveFailed(Exception exception, int count, string reason);
}
