using System.Diagnostics;
using LlmGateway.Contracts;
using LlmGateway.TokenService.Authentication;
using LlmGateway.TokenService.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// Rebuilds Redis's copy of every active credential from PostgreSQL: at start-up, after Redis was flushed or replaced
/// (sentinel <see cref="RedisKeys.CredentialEpoch"/> gone), after Redis comes back or a projection write failed, and on
/// an admin's request. Idempotent; one replica at a time (<see cref="RedisKeys.CredentialReprojectLock"/>).
/// </summary>
/// <remarks>
/// The sentinel is set to "projecting" (with an expiry) before the first write and to its final value only if it
/// still holds our mark afterwards: a flush in the middle deletes the mark, so the next check re-projects again,
/// and a replica that dies in the middle leaves a mark that expires.
/// </remarks>
public sealed partial class CredentialReprojection(
    CredentialStore store,
    CredentialProjector projector,
    IConnectionMultiplexer redis,
    BootstrapAdminKey bootstrapAdmin,
    IOptions<ProjectionOptions> options,
    TokenServiceMetrics metrics,
    TimeProvider time,
    ILogger<CredentialReprojection> logger)
{
    private static readonly TimeSpan LockLifetime = TimeSpan.FromMinutes(2);

    private const string CompareAndSet = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end
        return 0
        """;

    private const string CompareAndDelete = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly string instance = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private readonly SemaphoreSlim running = new(1, 1);

    /// <summary>Re-projects everything; null when another replica is already doing it.</summary>
    public async Task<ReprojectionResult?> RunAsync(string reason, CancellationToken cancellationToken)
    {
        await running.WaitAsync(cancellationToken);
        try
        {
            var database = redis.GetDatabase();
            var lockToken = $"{instance} {time.GetUtcNow():O}";
            if (!await database.StringSetAsync(RedisKeys.CredentialReprojectLock, lockToken, LockLifetime, When.NotExists).WaitAsync(CredentialProjector.Timeout, cancellationToken))
            {
                LogSkipped(reason);
                return null;
            }

            try
            {
                return await ReprojectAsync(database, lockToken, reason, cancellationToken);
            }
            finally
            {
                await database.ScriptEvaluateAsync(CompareAndDelete, [RedisKeys.CredentialReprojectLock], [lockToken]).WaitAsync(CredentialProjector.Timeout, CancellationToken.None);
            }
        }
        finally
        {
            running.Release();
        }
    }

    private async Task<ReprojectionResult> ReprojectAsync(IDatabase database, string lockToken, string reason, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        LogStarted(reason);
        var mark = "projecting " + lockToken;
        await database.StringSetAsync(RedisKeys.CredentialEpoch, mark, LockLifetime).WaitAsync(CredentialProjector.Timeout, cancellationToken);

        var projected = 0;
        if (bootstrapAdmin.IsConfigured)
        {
            // From configuration, not from the stored row: configuration is what TokenService itself accepts.
            await projector.WriteBatchAsync([bootstrapAdmin.ToCredential(time.GetUtcNow())]);
            projected++;
        }

        await store.ForEachActiveBatchAsync(options.Value.BatchSize, BootstrapAdminKey.CredentialId, async batch =>
        {
            await projector.WriteBatchAsync(batch);
            projected += batch.Count;
            await database.KeyExpireAsync(RedisKeys.CredentialReprojectLock, LockLifetime).WaitAsync(CredentialProjector.Timeout, cancellationToken);
            await database.KeyExpireAsync(RedisKeys.CredentialEpoch, LockLifetime).WaitAsync(CredentialProjector.Timeout, cancellationToken);
        }, cancellationToken);

        var stale = await store.RecentlyRevokedHashesAsync(time.GetUtcNow() - options.Value.RevokedLookbackValue, cancellationToken);
        var removed = 0;
        foreach (var chunk in stale.Chunk(options.Value.BatchSize))
        {
            removed += await projector.DeleteKeysAsync(chunk);
        }

        var complete = (int)await database.ScriptEvaluateAsync(CompareAndSet, [RedisKeys.CredentialEpoch], [mark, $"{time.GetUtcNow():O} {instance}"])
            .WaitAsync(CredentialProjector.Timeout, cancellationToken) == 1;
        await database.PublishAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), "reprojected").WaitAsync(CredentialProjector.Timeout, cancellationToken);

        var result = new ReprojectionResult(projected, removed, stopwatch.Elapsed, complete);
        metrics.Reprojected(stopwatch.Elapsed);
        LogFinished(projected, removed, (long)stopwatch.Elapsed.TotalMilliseconds, complete);
        return result;
    }

    [LoggerMessage(EventId = 2021, Level = LogLevel.Information, Message = "Re-projecting every active credential to Redis: {Reason}")]
    private partial void LogStarted(string reason);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Information, Message = "Re-projected {Projected} credential(s), removed {Removed} stale key(s) in {ElapsedMs} ms (sentinel intact: {Complete})")]
    private partial void LogFinished(int projected, int removed, long elapsedMs, bool complete);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Debug, Message = "Re-projection ({Reason}) skipped: another instance is re-projecting")]
    private partial void LogSkipped(string reason);
}

/// <summary><paramref name="Complete"/> is false when Redis was flushed again during the run (another run follows).</summary>
public sealed record ReprojectionResult(int Projected, int Removed, TimeSpan Duration, bool Complete);
