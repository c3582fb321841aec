using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// Background upkeep of the shared limits: renews the Redis leases (concurrency slots, budget reservations) of this
/// instance's requests in flight every third of <see cref="LimitOptions.LeaseDuration"/>, so a long stream keeps its
/// slot while a crashed instance's slots expire; renews the quota leases in use and gives back what idle ones hold
/// (all of it when the instance stops); and adds spend settled while Redis was unavailable once it answers.
/// </summary>
internal sealed partial class LimitMaintenance(
    RedisLimitStore shared,
    LeaseRegistry leases,
    QuotaLeasePool quota,
    LimitTelemetry telemetry,
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

                await RenewQuotaAsync().ConfigureAwait(false);
                await ReturnQuotaAsync(all: false).ConfigureAwait(false);

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

    /// <summary>Renews the quota leases in use; a lease Redis already ended admits nothing more.</summary>
    internal async Task RenewQuotaAsync()
    {
        var due = quota.DueForRenewal();
        if (due.Count == 0 || !shared.IsAvailable)
        {
            return;
        }

        try
        {
            var expires = quota.RenewedUntil();
            var held = await shared.RenewLeasesAsync(due.Select(lease => lease.Base).ToList(), quota.InstanceId).ConfigureAwait(false);
            for (var i = 0; i < due.Count; i++)
            {
                due[i].Renewed(held[i], expires);
            }
        }
        catch (Exception ex) when (RedisLimitStore.IsUnavailable(ex))
        {
            LogRenewFailed(logger, due.Count, ex.Message);
        }
    }

    /// <summary>Gives back what idle quota leases hold unused (every lease, when <paramref name="all"/>).</summary>
    internal async Task ReturnQuotaAsync(bool all)
    {
        var returns = quota.TakeUnused(all);
        if (returns.Count == 0)
        {
            return;
        }

        telemetry.LeasesReturned.Add(returns.Count);
        if (!shared.IsAvailable)
        {
            return; // what they held ends with the window or the lease's expiry in Redis
        }

        try
        {
            await Task.WhenAll(returns.Select(r => shared.SendAsync(RedisLimitStore.LeaseEntry(
                quota.InstanceId, r.End, [r.Lease.Base], r.Window, -r.Tokens, [(r.Requests, r.Tokens > 0, r.Slots, r.NanoUsd)], 0, [], [])))).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisLimitStore.IsUnavailable(ex))
        {
            LogReturnFailed(logger, returns.Count, ex.Message);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (options.Value.Enabled)
        {
            await ReturnQuotaAsync(all: true).ConfigureAwait(false);
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

    [LoggerMessage(1523, LogLevel.Warning, "Giving back {Count} quota leases failed ({Reason}); what they hold ends with its window or lease in Redis")]
    private static partial void LogReturnFailed(ILogger logger, int count, string reason);

    [LoggerMessage(1522, LogLevel.Information, "Added the spend of {Count} budget counters settled while Redis was unavailable")]
    private static partial void LogSpendReplayed(ILogger logger, int count);
}
