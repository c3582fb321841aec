using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// Background upkeep of the shared limits: renews the Redis leases (concurrency slots, budget reservations) of this
/// instance's requests in flight every third of <see cref="LimitOptions.LeaseDuration"/>, so a long stream keeps its
/// slot while a crashed instance's slots expire; and adds spend settled while Redis was unavailable once it answers.
/// </summary>
internal sealed partial class LimitMaintenance(
    RedisLimitStore shared,
    LeaseRegistry leases,
    PendingSpend pending,
    LimitStoreState state,
    IOptions<LimitOptions> options,
    TimeProvider time,
    ILogger<LimitMaintenance> logger) : BackgroundService
{
    private const int BatchSize = 500;
    private readonly TimeSpan _renewEvery = options.Value.LeaseDuration / 3;
    private readonly TimeSpan _tick = TimeSpan.FromMilliseconds(Math.Min(1000, options.Value.LeaseDuration.TotalMilliseconds / 3));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var lastRenewal = time.GetTimestamp();
        using var timer = new PeriodicTimer(_tick, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (time.GetElapsedTime(lastRenewal) >= _renewEvery)
                {
                    lastRenewal = time.GetTimestamp();
                    await RenewAsync().ConfigureAwait(false);
                }

                await FlushPendingSpendAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal async Task RenewAsync()
    {
        if (leases.Count == 0 || !shared.IsAvailable)
        {
            return;
        }

        var held = leases.Leases();
        for (var offset = 0; offset < held.Count; offset += BatchSize)
        {
            try
            {
                await shared.RenewAsync(held.GetRange(offset, Math.Min(BatchSize, held.Count - offset))).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisLimitStore.IsUnavailable(ex))
            {
                LogRenewFailed(logger, held.Count, ex.Message);
                return;
            }
        }
    }

    /// <summary>Adds pending spend to Redis; true when nothing is left.</summary>
    internal async Task<bool> FlushPendingSpendAsync()
    {
        while (pending.Count > 0)
        {
            if (!state.ShouldTryRedis())
            {
                return false;
            }

            var batch = pending.Take(BatchSize);
            try
            {
                await shared.AddSpendAsync(batch).ConfigureAwait(false);
                state.Succeeded();
                LogSpendReplayed(logger, batch.Count);
            }
            catch (Exception ex) when (RedisLimitStore.IsUnavailable(ex))
            {
                pending.Return(batch);
                state.Failed(ex.GetType().Name + ": " + ex.Message);
                return false;
            }
        }

        return true;
    }

    [LoggerMessage(1521, LogLevel.Warning, "Renewing {Count} limit leases in Redis failed ({Reason}); they expire unless a later renewal succeeds")]
    private static partial void LogRenewFailed(ILogger logger, int count, string reason);

    [LoggerMessage(1522, LogLevel.Information, "Added the spend of {Count} budget counters settled while Redis was unavailable")]
    private static partial void LogSpendReplayed(ILogger logger, int count);
}
