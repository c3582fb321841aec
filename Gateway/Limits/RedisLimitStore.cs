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
/// <remarks>
/// <see cref="Grants"/>: the quota each subject leased to this instance with the admission (null: none, see
/// <see cref="LeaseOptions"/>); <see cref="RedisNowMs"/>: Redis' clock when it answered.
/// </remarks>
internal readonly record struct AdmitResult(
    LimitStatus Status,
    int Subject,
    TimeSpan RetryAfter,
    DateTimeOffset WindowReset,
    long Window,
    long[] Requests,
    long[] Tokens,
    LeaseGrant[]? Grants = null,
    long RedisNowMs = 0);

/// <summary>Usage of one subject as Redis holds it now (admin view).</summary>
internal readonly record struct SubjectUsage(long Requests, long Tokens, long InFlight, long ReservedNanoUsd, long SpentNanoUsd, LeaseHeld[] Leases);

/// <summary>What one instance holds of a subject's limits (admin view): requests and tokens of this window, slots, nano-USD.</summary>
internal readonly record struct LeaseHeld(string Instance, DateTimeOffset Expires, long Requests, long Tokens, long Slots, long NanoUsd);

/// <summary>
/// The shared limit state in Redis: one script call per admission, per batch of settlements, per renewal batch. Every call is
/// bounded by <see cref="LimitOptions.RedisTimeout"/>; failures surface as exceptions for the caller's fallback.
/// </summary>
internal sealed class RedisLimitStore(ScriptRunner redis, IOptions<LimitOptions> options)
{
    private readonly TimeSpan _timeout = options.Value.RedisTimeout;
    private readonly long _leaseMs = (long)options.Value.LeaseDuration.TotalMilliseconds;
    private readonly LeaseOptions _leases = options.Value.Leases;
    private readonly SettlementBatcher _settlements = new(redis, options.Value.RedisTimeout, options.Value.Leases.SettleInterval);

    /// <summary>Whether a call may succeed now (connected, or a reconnect is due): calls fall back fast otherwise.</summary>
    public bool IsAvailable => redis.IsAvailable;

    /// <summary>Whether the connection is up now.</summary>
    public bool IsConnected => redis.IsConnected;

    /// <param name="leaseHolder">This instance's id when it takes a quota lease with the admission (null: none).</param>
    public async Task<AdmitResult> AdmitAsync(LimitPlan plan, string requestId, bool requireRebuiltSpend, string? leaseHolder = null)
    {
        var subjects = plan.Subjects;
        var n = subjects.Length;
        var keys = new RedisKey[1 + n * 3];
        var values = new RedisValue[11 + n * 5];
        keys[0] = Contracts.RedisKeys.BudgetSpentRebuilt;
        values[0] = requestId;
        values[1] = _leaseMs;
        values[2] = plan.TokenEstimate;
        values[3] = plan.WorstCaseNanoUsd;
        values[4] = requireRebuiltSpend ? "1" : "0";
        values[5] = n;
        values[6] = leaseHolder ?? "";
        values[7] = _leases.HeadroomShare;
        values[8] = _leases.MinRequests;
        values[9] = _leases.MaxRequests;
        values[10] = (long)_leases.Duration.TotalMilliseconds;
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

            values[11 + i * 5] = subject.RequestsPerMinute;
            values[12 + i * 5] = plan.TokensPerMinuteOf(subject);
            values[13 + i * 5] = subject.MaxConcurrent;
            values[14 + i * 5] = budget;
            values[15 + i * 5] = subject.Role == SubjectRole.Owner ? "0" : "1";
        }

        var reply = await redis.EvaluateAsync(LimitScripts.Admit, keys, values).WaitAsync(_timeout).ConfigureAwait(false);
        var requests = new long[n];
        var tokens = new long[n];
        for (var i = 0; i < n; i++)
        {
            requests[i] = reply[5 + i].AsInt64();
            tokens[i] = reply[5 + n + i].AsInt64();
        }

        LeaseGrant[]? grants = null;
        if (reply[6 + 2 * n].AsInt64() == 1)
        {
            grants = new LeaseGrant[n];
            for (var i = 0; i < n; i++)
            {
                var o = 7 + 2 * n + i * 4;
                grants[i] = new LeaseGrant(reply[o].AsInt64(), reply[o + 1].AsInt64(), reply[o + 2].AsInt64(), reply[o + 3].AsInt64());
            }
        }

        return new AdmitResult(
            (LimitStatus)(int)reply[0].AsInt64(),
            (int)reply[1].AsInt64() - 1,
            TimeSpan.FromMilliseconds(Math.Max(0, reply[2].AsInt64())),
            DateTimeOffset.FromUnixTimeMilliseconds(reply[3].AsInt64()),
            reply[4].AsInt64(),
            requests,
            tokens,
            grants,
            reply[5 + 2 * n].AsInt64());
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
        await SendAsync(Entry(subjects, metered, requestId, window, tokenDelta, costNanoUsd, spendKeys, spendExpiry)).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends one <see cref="LimitScripts.SettleBatch"/> entry (<see cref="Entry"/>, <see cref="LeaseEntry"/>) now or with
    /// the next batch, bounded by <see cref="LimitOptions.RedisTimeout"/>; an entry whose caller stopped waiting before
    /// it was sent is never sent.
    /// </summary>
    public async Task SendAsync(Settlement settlement)
    {
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
        var (keys, values) = Start(requestId, n, 1, window, tokenDelta, costNanoUsd, spendKeys, spendExpiry);
        for (var i = 0; i < n; i++)
        {
            keys[i] = subjects[i].Base;
            values[7 + i] = metered && subjects[i].TokensPerMinute > 0 ? "1" : "0";
        }

        return new Settlement(keys, values);
    }

    /// <summary>
    /// The <see cref="LimitScripts.SettleBatch"/> entry of a request admitted from quota leases (tokens beyond its
    /// estimate, its cost moved from each budget lease into the spend counters) or of a lease giving back what it holds
    /// unused: per subject requests, "1" when tokens/min applies, slots, nano-USD.</summary>
    internal static Settlement LeaseEntry(
        string holder, bool end, IReadOnlyList<string> bases, long window, long tokenDelta, IReadOnlyList<(long Requests, bool Tokens, long Slots, long NanoUsd)> giveBack,
        long costNanoUsd, string[] spendKeys, long[] spendExpiry)
    {
        var n = bases.Count;
        var (keys, values) = Start((end ? "!" : "@") + holder, n, 4, window, tokenDelta, costNanoUsd, spendKeys, spendExpiry);
        var onlyCost = !end;
        for (var i = 0; i < n; i++)
        {
            var back = giveBack[i];
            keys[i] = bases[i];
            values[7 + i * 4] = back.Requests;
            values[8 + i * 4] = back.Tokens ? "1" : "0";
            values[9 + i * 4] = back.Slots;
            values[10 + i * 4] = back.NanoUsd;
            onlyCost &= back.Requests == 0 && back.Slots == 0 && back.NanoUsd >= 0;
        }

        return new Settlement(keys, values) { IsLeaseSettlement = onlyCost };
    }

    /// <summary>
    /// The layout both entries share: [1] the id, [2] the window, [3] the token delta, [4] subjects, [5] spend counters,
    /// [6] the cost, then <paramref name="perSubject"/> values a subject (filled by the caller) and each spend counter's
    /// expiry; keys are the subjects' bases (filled by the caller), then the spend counters. [0] is the batch's entry
    /// count (<see cref="SettlementBatcher"/>).
    /// </summary>
    private static (RedisKey[] Keys, RedisValue[] Values) Start(
        string id, int subjects, int perSubject, long window, long tokenDelta, long costNanoUsd, string[] spendKeys, long[] spendExpiry)
    {
        var m = costNanoUsd > 0 ? spendKeys.Length : 0;
        var keys = new RedisKey[subjects + m];
        var values = new RedisValue[7 + subjects * perSubject + m];
        values[1] = id;
        values[2] = window.ToString(CultureInfo.InvariantCulture);
        values[3] = tokenDelta;
        values[4] = subjects;
        values[5] = m;
        values[6] = costNanoUsd;
        for (var j = 0; j < m; j++)
        {
            keys[subjects + j] = spendKeys[j];
            values[7 + subjects * perSubject + j] = spendExpiry[j];
        }

        return (keys, values);
    }

    /// <summary>Renews this instance's leases of <paramref name="bases"/>; per base whether Redis still held it.</summary>
    public async Task<bool[]> RenewLeasesAsync(IReadOnlyList<string> bases, string holder)
    {
        var keys = new RedisKey[bases.Count];
        for (var i = 0; i < bases.Count; i++)
        {
            keys[i] = bases[i];
        }

        var reply = await redis.EvaluateAsync(LimitScripts.RenewLeases, keys, [(long)_leases.Duration.TotalMilliseconds, holder])
            .WaitAsync(_timeout).ConfigureAwait(false);
        var held = new bool[reply.Count];
        for (var i = 0; i < held.Length; i++)
        {
            held[i] = reply[i].AsInt64() == 1;
        }

        return held;
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
        var o = 2;
        for (var i = 0; i < n; i++)
        {
            var leases = new LeaseHeld[reply[o + 5].AsInt64()];
            for (var h = 0; h < leases.Length; h++)
            {
                var l = o + 6 + h * 6;
                leases[h] = new LeaseHeld(reply[l].AsString() ?? "", DateTimeOffset.FromUnixTimeMilliseconds(reply[l + 1].AsInt64()),
                    reply[l + 2].AsInt64(), reply[l + 3].AsInt64(), reply[l + 4].AsInt64(), reply[l + 5].AsInt64());
            }

            usage[i] = new SubjectUsage(reply[o].AsInt64(), reply[o + 1].AsInt64(), reply[o + 2].AsInt64(), reply[o + 3].AsInt64(), reply[o + 4].AsInt64(), leases);
            o += 6 + leases.Length * 6;
        }

        return (DateTimeOffset.FromUnixTimeMilliseconds(reply[1].AsInt64()), usage);
    }

    /// <summary>Failures that mean "Redis cannot decide right now" (as opposed to bugs).</summary>
    public static bool IsUnavailable(Exception ex) =>
        ex is RedisException or RespException or TimeoutException or ObjectDisposedException
        || (ex is InvalidOperationException && ex.Source == "StackExchange.Redis");
}
