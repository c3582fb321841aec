using Microsoft.Extensions.Options;
using LlmGateway.Gateway.Redis;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// Whether limits are decided in Redis (shared by every instance) or by the fallback policies, with one log line per
/// transition. After a failure Redis is left alone for <see cref="LimitOptions.RedisRetryInterval"/>, then one request
/// probes it, so an unresponsive Redis costs at most one timeout per interval rather than one per request.
/// </summary>
internal sealed partial class LimitStoreState(
    ScriptRunner redis,
    IOptions<LimitOptions> options,
    TimeProvider time,
    ILogger<LimitStoreState> logger)
{
    private readonly LimitOptions _options = options.Value;
    private readonly long _retryTicks = (long)(options.Value.RedisRetryInterval.TotalSeconds * time.TimestampFrequency);
    private readonly Lock _gate = new();
    private bool _fallback;
    private long _fallbackSince;
    private long _nextProbe;
    private bool _spendIncomplete;

    public bool InFallback
    {
        get
        {
            lock (_gate)
            {
                return _fallback;
            }
        }
    }

    /// <summary>Whether to ask Redis now: connected, and either healthy or due for a probe (one caller per interval).</summary>
    public bool ShouldTryRedis()
    {
        if (!redis.IsAvailable)
        {
            Failed("Redis is not connected");
            return false;
        }

        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (!_fallback)
            {
                return true;
            }

            if (now < _nextProbe)
            {
                return false;
            }

            _nextProbe = now + _retryTicks;
            return true;
        }
    }

    public void Succeeded()
    {
        lock (_gate)
        {
            if (!_fallback)
            {
                return;
            }

            _fallback = false;
        }

        LogRestored(logger, time.GetElapsedTime(_fallbackSince).TotalSeconds);
    }

    public void Failed(string reason)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            _nextProbe = now + _retryTicks;
            if (_fallback)
            {
                return;
            }

            _fallback = true;
            _fallbackSince = now;
        }

        LogFallback(logger, reason,
            _options.RedisUnavailable.RateLimits == RateLimitFallback.PerInstance ? "enforced by each instance on its own" : "refused (fail closed)",
            _options.RedisUnavailable.Budgets == BudgetFallback.Reject ? "refused (fail closed)" : "admitted unchecked (fail open)");
    }

    /// <summary>Whether the spend counters were found incomplete (no rebuilt marker); logs each change once.</summary>
    public void SpendCountersComplete(bool complete)
    {
        lock (_gate)
        {
            if (_spendIncomplete == !complete)
            {
                return;
            }

            _spendIncomplete = !complete;
        }

        if (complete)
        {
            LogSpendRebuilt(logger);
        }
        else
        {
            LogSpendIncomplete(logger, _options.RedisUnavailable.Budgets == BudgetFallback.Reject ? "refused" : "admitted");
        }
    }

    [LoggerMessage(1501, LogLevel.Warning, "Limits fall back: {Reason}. Until Redis answers, requests/min, tokens/min and concurrency are {RatePolicy}; budgeted requests are {BudgetPolicy}")]
    private static partial void LogFallback(ILogger logger, string reason, string ratePolicy, string budgetPolicy);

    [LoggerMessage(1502, LogLevel.Information, "Limits are shared through Redis again after {Seconds:F1} s of fallback")]
    private static partial void LogRestored(ILogger logger, double seconds);

    [LoggerMessage(1503, LogLevel.Warning, "Budget spend counters are incomplete (Redis lost them and the UsageWorker has not rebuilt them yet, marker lgw:budget:rebuilt missing): budgeted requests are {Policy} until it has")]
    private static partial void LogSpendIncomplete(ILogger logger, string policy);

    [LoggerMessage(1504, LogLevel.Information, "Budget spend counters are complete again (rebuilt by the UsageWorker)")]
    private static partial void LogSpendRebuilt(ILogger logger);
}
