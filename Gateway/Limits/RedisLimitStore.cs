using System.Globalization;
using LlmGateway.Gateway.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Limits;

/// <summary>Why admission refused (or <see cref="Admitted"/>); the numbers are the admission script's status codes.</summary>
internal enum LimitStatus
{
    Admitted = 0,
    RequestsPerMinute = 1,
    TokensPerMinute = 2,
    Concurrency = 3,
    Budget = 4,
    SpendNotRebuilt = 5,
    BudgetHeld = 6,
}

/// <summary>
/// The answer of one admission: the status, which subject refused (index into the plan's subjects, -1 when admitted),
/// how long to wait, the current window and each subject's requests and tokens used in it (after charging, when admitted).
/// </summary>
internal readonly record struct AdmitResult(
    LimitStatus Status,
    int Subject,
    TimeSpan RetryAfter,
    DateTimeOffset WindowReset,
    long Window,
    long[] Requests,
    long[] Tokens);

/// <summary>Usage of one subject as Redis holds it now (admin view).</summary>
internal readonly record struct SubjectUsage(long Requests, long Tokens, long InFlight, long ReservedNanoUsd, long SpentNanoUsd);

/// <summary>
/// The shared limit state in Redis: one script call per admission, per batch of settlements, per renewal batch. Every call is
/// bounded by <see cref="LimitOptions.RedisTimeout"/>; failures surface as exceptions for the caller's fallback.
/// </summary>
internal sealed class RedisLimitStore(ScriptRunner redis, IOptions<LimitOptions> options)
{
    private readonly TimeSpan _timeout = options.Value.RedisTimeout;
    private readonly long _leaseMs = (long)options.Value.LeaseDuration.TotalMilliseconds;
    private readonly SettlementBatcher _settlements = new(redis, options.Value.RedisTimeout);

    /// <summary>Whether a call may succeed now (connected, or a reconnect is due): calls fall back fast otherwise.</summary>
    public bool IsAvailable => redis.IsAvailable;

    public async Task<AdmitResult> AdmitAsync(LimitPlan plan, string requestId, bool requireRebuiltSpend)
    {
        var subjects = plan.Subjects;
        var n = subjects.Length;
        var keys = new RedisKey[1 + n * 3];
        var values = new RedisValue[6 + n * 5];
        keys[0] = Contracts.RedisKeys.BudgetSpentRebuilt;
        values[0] = requestId;
        values[1] = _leaseMs;
        values[2] = plan.TokenEstimate;
        values[3] = plan.WorstCaseNanoUsd;
        values[4] = requireRebuiltSpend ? "1" : "0";
        values[5] = n;
        for (var i = 0; i < n; i++)
        {
            var subject = subjects[i];
            var budget = plan.BudgetOf(subject);
            keys[1 + i * 3] = subject.Base;
            if (budget >= 0)
            {
                keys[2 + i * 3] = subject.SpentKey(plan.At);
                keys[3 + i * 3] = subject.MintedSpentKey(plan.At) ?? subject.SpentKey(plan.At);
            }
            else
            {
                // Never read; any key of the subject keeps the key list well-formed.
                keys[2 + i * 3] = subject.Base;
                keys[3 + i * 3] = subject.Base;
            }

            values[6 + i * 5] = subject.RequestsPerMinute;
            values[7 + i * 5] = plan.TokensPerMinuteOf(subject);
            values[8 + i * 5] = subject.MaxConcurrent;
            values[9 + i * 5] = budget;
            values[10 + i * 5] = subject.Role == SubjectRole.Owner ? "0" : "1";
        }

        var reply = await redis.EvaluateAsync(LimitScripts.Admit, keys, values).WaitAsync(_timeout).ConfigureAwait(false);
        var requests = new long[n];
        var tokens = new long[n];
        for (var i = 0; i < n; i++)
        {
            requests[i] = reply[5 + i].AsInt64();
            tokens[i] = reply[5 + n + i].AsInt64();
        }

        return new AdmitResult(
            (LimitStatus)(int)reply[0].AsInt64(),
            (int)reply[1].AsInt64() - 1,
            TimeSpan.FromMilliseconds(Math.Max(0, reply[2].AsInt64())),
            DateTimeOffset.FromUnixTimeMilliseconds(reply[3].AsInt64()),
            reply[4].AsInt64(),
            requests,
            tokens);
    }

    /// <summary>
    /// Releases what <paramref name="subjects"/> hold for the request, corrects its tokens in <paramref name="window"/>
    /// by <paramref name="tokenDelta"/>, and adds <paramref name="costNanoUsd"/> to every spend counter: sent at once, or
    /// together with the other settlements that arrive while one is in flight (<see cref="SettlementBatcher"/>).
    /// Bounded by <see cref="LimitOptions.RedisTimeout"/> from the call; a settlement whose caller stopped waiting
    /// before it was sent is never sent.
    /// </summary>
    public async Task SettleAsync(
        IReadOnlyList<LimitSubject> subjects, bool metered, string requestId, long window, long tokenDelta,
        long costNanoUsd, string[] spendKeys, long[] spendExpiry)
    {
        var settlement = Entry(subjects, metered, requestId, window, tokenDelta, costNanoUsd, spendKeys, spendExpiry);
        var outcome = _settlements.SettleAsync(settlement);
        try
        {
            await outcome.WaitAsync(_timeout).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!outcome.IsCompleted)
        {
            settlement.TryAbandon();
            throw;
        }
    }

    /// <summary>One request's entry of <see cref="LimitScripts.SettleBatch"/>.</summary>
    internal static Settlement Entry(
        IReadOnlyList<LimitSubject> subjects, bool metered, string requestId, long window, long tokenDelta,
        long costNanoUsd, string[] spendKeys, long[] spendExpiry)
    {
        var n = subjects.Count;
        var m = costNanoUsd > 0 ? spendKeys.Length : 0;
        var keys = new RedisKey[n + m];
        // [0] is the batch's entry count (SettlementBatcher).
        var values = new RedisValue[7 + n + m];
        values[1] = requestId;
        values[2] = window.ToString(CultureInfo.InvariantCulture);
        values[3] = tokenDelta;
        values[4] = n;
        values[5] = m;
        values[6] = costNanoUsd;
        for (var i = 0; i < n; i++)
        {
            keys[i] = subjects[i].Base;
            values[7 + i] = metered && subjects[i].TokensPerMinute > 0 ? "1" : "0";
        }

        for (var j = 0; j < m; j++)
        {
            keys[n + j] = spendKeys[j];
            values[7 + n + j] = spendExpiry[j];
        }

        return new Settlement(keys, values);
    }

    /// <summary>Adds spend kept while Redis was unavailable.</summary>
    public async Task AddSpendAsync(IReadOnlyList<PendingSpendEntry> entries)
    {
        var keys = new RedisKey[entries.Count];
        var values = new RedisValue[entries.Count * 2];
        for (var i = 0; i < entries.Count; i++)
        {
            keys[i] = entries[i].Key;
            values[i * 2] = entries[i].AmountNanoUsd;
            values[i * 2 + 1] = entries[i].ExpireAt;
        }

        await redis.EvaluateAsync(LimitScripts.AddSpend, keys, values).WaitAsync(_timeout).ConfigureAwait(false);
    }

    /// <summary>Extends the leases of requests still in flight; returns how many were still held.</summary>
    public async Task<long> RenewAsync(IReadOnlyList<(string Base, string RequestId)> leases)
    {
        var keys = new RedisKey[leases.Count];
        var values = new RedisValue[leases.Count + 1];
        values[0] = _leaseMs;
        for (var i = 0; i < leases.Count; i++)
        {
            keys[i] = leases[i].Base;
            values[i + 1] = leases[i].RequestId;
        }

        return (await redis.EvaluateAsync(LimitScripts.Renew, keys, values).WaitAsync(_timeout).ConfigureAwait(false)).AsInt64();
    }

    /// <summary>Current usage of each subject (budget spend for the period containing <paramref name="at"/>) and the window's end.</summary>
    public async Task<(DateTimeOffset WindowReset, SubjectUsage[] Usage)> ReadAsync(IReadOnlyList<LimitSubject> subjects, DateTimeOffset at)
    {
        var n = subjects.Count;
        var keys = new RedisKey[n * 3];
        var values = new RedisValue[1 + n];
        values[0] = n;
        for (var i = 0; i < n; i++)
        {
            var subject = subjects[i];
            keys[i * 3] = subject.Base;
            keys[i * 3 + 1] = subject.SpentKey(at);
            keys[i * 3 + 2] = subject.MintedSpentKey(at) ?? subject.SpentKey(at);
            values[1 + i] = subject.Role == SubjectRole.Owner ? "0" : "1";
        }

        var reply = await redis.EvaluateAsync(LimitScripts.Read, keys, values).WaitAsync(_timeout).ConfigureAwait(false);
        var usage = new SubjectUsage[n];
        for (var i = 0; i < n; i++)
        {
            var o = 2 + i * 5;
            usage[i] = new SubjectUsage(reply[o].AsInt64(), reply[o + 1].AsInt64(), reply[o + 2].AsInt64(), reply[o + 3].AsInt64(), reply[o + 4].AsInt64());
        }

        return (DateTimeOffset.FromUnixTimeMilliseconds(reply[1].AsInt64()), usage);
    }

    /// <summary>Failures that mean "Redis cannot decide right now" (as opposed to bugs).</summary>
    public static bool IsUnavailable(Exception ex) =>
        ex is RedisException or RespException or TimeoutException or ObjectDisposedException
        || (ex is InvalidOperationException && ex.Source == "StackExchange.Redis");
}
