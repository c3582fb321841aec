using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

/// <summary>What one admission script call granted this instance of one subject's limits (zero: that limit is not leased).</summary>
internal readonly record struct LeaseGrant(long Requests, long Tokens, long Slots, long NanoUsd);

/// <summary>What giving back a lease sends to Redis (see <see cref="LimitScripts.SettleBatch"/>).</summary>
internal readonly record struct LeaseReturn(SubjectLease Lease, long Window, long Requests, long Tokens, long Slots, long NanoUsd, bool End);

/// <summary>
/// This instance's share of one subject's limits, taken from Redis by <see cref="LimitScripts.Admit"/>: request slots
/// and tokens of one window, concurrency slots and budget. Requests are admitted from it in memory; what Redis counts
/// for it (the window's counters, the lease's slots and nano-USD) never falls below what it lets through.
/// </summary>
/// <remarks>
/// Each operation holds a per-subject lock for a few arithmetic steps and never across an await: lock-free counters
/// for five quantities that must move together (a request takes from all or none) would need a retry loop around the
/// same steps, and the lock is uncontended except under many concurrent requests of one credential, where its hold time
/// (tens of nanoseconds) is far below the Redis round trip it replaces.
/// </remarks>
internal sealed class SubjectLease(string @base)
{
    private readonly Lock _gate = new();

    // Window quota: requests and tokens left in _window, valid until _windowEnds (a timestamp of the pool's clock).
    private long _window = -1;
    private long _windowEnds;
    private DateTimeOffset _windowReset;
    private long _requests;
    private long _tokens;
    // The window's counters in Redis at the last grant (this lease's unused part included): for the rate-limit headers.
    private long _requestsCounted;
    private long _tokensCounted;

    // Held quota: slots and nano-USD free to take, of what Redis counts as held by this lease; valid until _expires.
    private long _slots;
    private long _slotsHeld;
    private long _budget;
    private long _budgetHeld;
    private long _expires;

    private long _lastUsed;
    private int _active;
    private bool _ended;

    public string Base { get; } = @base;

    public bool Ended
    {
        get
        {
            lock (_gate)
            {
                return _ended;
            }
        }
    }

    /// <summary>Takes what <paramref name="plan"/> needs of <paramref name="subject"/>, all or nothing.</summary>
    public bool TryTake(LimitPlan plan, LimitSubject subject, long now, out long window, out long requestsUsed, out long tokensUsed)
    {
        var (rpm, tpm, slot, budget) = Needs(plan, subject);
        lock (_gate)
        {
            window = _window;
            requestsUsed = tokensUsed = 0;
            var windowOpen = now < _windowEnds;
            var held = now < _expires;
            if (_ended
                || (rpm && !(windowOpen && _requests >= 1))
                || (tpm && !(windowOpen && _tokens >= plan.TokenEstimate))
                || (slot && !(held && _slots >= 1))
                || (budget && !(held && _budget >= plan.WorstCaseNanoUsd)))
            {
                return false;
            }

            if (rpm)
            {
                _requests--;
            }

            if (tpm)
            {
                _tokens -= plan.TokenEstimate;
            }

            if (slot)
            {
                _slots--;
            }

            if (budget)
            {
                _budget -= plan.WorstCaseNanoUsd;
            }

            requestsUsed = _requestsCounted - _requests;
            tokensUsed = _tokensCounted - _tokens;
            _active++;
            _lastUsed = now;
            return true;
        }
    }

    /// <summary>Undoes a <see cref="TryTake"/> (another subject of the same request had no room).</summary>
    public void Untake(LimitPlan plan, LimitSubject subject, long window)
    {
        var (rpm, tpm, slot, budget) = Needs(plan, subject);
        lock (_gate)
        {
            _active--;
            if (window == _window)
            {
                _requests += rpm ? 1 : 0;
                _tokens += tpm ? plan.TokenEstimate : 0;
            }

            _slots += slot ? 1 : 0;
            _budget += budget ? plan.WorstCaseNanoUsd : 0;
        }
    }

    /// <summary>
    /// A request admitted from this lease ended: its slot and the unused part of its reservation are free again, tokens
    /// it did not use are back in the window. Returns the tokens it used beyond its estimate, which Redis must add to
    /// the window (0 when none).
    /// </summary>
    public long Release(LimitPlan plan, LimitSubject subject, long window, long tokenDelta, long costNanoUsd)
    {
        var (_, tpm, slot, budget) = Needs(plan, subject);
        lock (_gate)
        {
            _active--;
            if (slot)
            {
                _slots++;
            }

            if (budget)
            {
                // The cost moves from the lease into the spend counters (Redis does the same with the settlement).
                _budget += plan.WorstCaseNanoUsd - costNanoUsd;
                _budgetHeld -= costNanoUsd;
            }

            if (!tpm || tokenDelta == 0)
            {
                return 0;
            }

            if (tokenDelta < 0 && window == _window)
            {
                _tokens -= tokenDelta;
                return 0;
            }

            return tokenDelta;
        }
    }

    /// <summary>Adds what Redis granted; a lease that had run out (Redis ended it) starts over from the grant.</summary>
    public void Grant(LeaseGrant grant, long window, DateTimeOffset windowReset, long windowEnds, long requestsCounted, long tokensCounted, long expires, long now)
    {
        lock (_gate)
        {
            if (window != _window)
            {
                _window = window;
                _requests = 0;
                _tokens = 0;
            }

            _windowEnds = windowEnds;
            _windowReset = windowReset;
            _requests += grant.Requests;
            _tokens += grant.Tokens;
            _requestsCounted = requestsCounted;
            _tokensCounted = tokensCounted;
            if (now >= _expires)
            {
                // Redis ended the old lease (it expired there first): only what requests in flight still use is taken.
                _slots -= _slotsHeld;
                _slotsHeld = 0;
                _budget -= _budgetHeld;
                _budgetHeld = 0;
            }

            _slots += grant.Slots;
            _slotsHeld += grant.Slots;
            _budget += grant.NanoUsd;
            _budgetHeld += grant.NanoUsd;
            _expires = expires;
            _lastUsed = now;
        }
    }

    /// <summary>Redis renewed the lease (true) or had already ended it (false: nothing more is admitted from it).</summary>
    public void Renewed(bool held, long expires)
    {
        lock (_gate)
        {
            _expires = held ? expires : 0;
        }
    }

    /// <summary>Whether the lease should be renewed: it holds slots or budget and was used since the last renewal period.</summary>
    public bool NeedsRenewal(long now, long renewBefore)
    {
        lock (_gate)
        {
            return !_ended && now < _expires && (_slotsHeld > 0 || _budgetHeld > 0) && (_active > 0 || _lastUsed >= renewBefore);
        }
    }

    /// <summary>
    /// When no request used the lease since <paramref name="idleSince"/> (or <paramref name="all"/>: the instance stops),
    /// takes out everything unused for giving back; the lease ends when nothing is in flight on it.
    /// </summary>
    public LeaseReturn? TakeUnused(long now, long idleSince, bool all)
    {
        lock (_gate)
        {
            if (_ended || (!all && _lastUsed >= idleSince))
            {
                return null;
            }

            var windowOpen = now < _windowEnds;
            var requests = windowOpen ? Math.Max(0, _requests) : 0;
            var tokens = windowOpen ? Math.Max(0, _tokens) : 0;
            var slots = Math.Max(0, _slots);
            var budget = Math.Max(0, _budget);
            _requests -= requests;
            _tokens -= tokens;
            _slots -= slots;
            _slotsHeld -= slots;
            _budget -= budget;
            _budgetHeld -= budget;
            _ended = _active == 0;
            if (!_ended && requests == 0 && tokens == 0 && slots == 0 && budget == 0)
            {
                return null;
            }

            return new LeaseReturn(this, _window, requests, tokens, slots, budget, _ended);
        }
    }

    public DateTimeOffset WindowReset
    {
        get
        {
            lock (_gate)
            {
                return _windowReset;
            }
        }
    }

    /// <summary>Which of the subject's limits a request of <paramref name="plan"/> takes from a lease.</summary>
    public static (bool Requests, bool Tokens, bool Slot, bool Budget) Needs(LimitPlan plan, LimitSubject subject) =>
        (subject.RequestsPerMinute > 0,
         plan.TokensPerMinuteOf(subject) > 0,
         subject.MaxConcurrent > 0,
         plan.BudgetOf(subject) >= 0);
}

/// <summary>
/// This instance's quota leases, one per subject (see <see cref="LeaseOptions"/>): admission from them in memory, the
/// grants of the admission script, renewal and giving back.
/// </summary>
internal sealed class QuotaLeasePool(IOptions<LimitOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, SubjectLease> _leases = new(StringComparer.Ordinal);
    private readonly LeaseOptions _options = options.Value.Leases;

    /// <summary>This process's name in Redis' lease records (machine, process id and a random part: restarts never share one).</summary>
    public string InstanceId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

    public bool Enabled => _options.Enabled;

    public int Count => _leases.Count;

    /// <summary>
    /// Admits <paramref name="plan"/> from the leases of all its subjects, or takes nothing. On success
    /// <paramref name="leases"/> holds each subject's lease and <paramref name="result"/> the rate-limit view for the headers.
    /// </summary>
    public bool TryAdmit(LimitPlan plan, out SubjectLease[] leases, out AdmitResult result)
    {
        var subjects = plan.Subjects;
        var n = subjects.Length;
        leases = [];
        result = default;
        var taken = new SubjectLease[n];
        var windows = new long[n];
        var requests = new long[n];
        var tokens = new long[n];
        var now = time.GetTimestamp();
        for (var i = 0; i < n; i++)
        {
            if (!_leases.TryGetValue(subjects[i].Base, out var lease) || !lease.TryTake(plan, subjects[i], now, out windows[i], out requests[i], out tokens[i]))
            {
                for (var j = 0; j < i; j++)
                {
                    taken[j].Untake(plan, subjects[j], windows[j]);
                }

                return false;
            }

            taken[i] = lease;
        }

        leases = taken;
        result = new AdmitResult(LimitStatus.Admitted, -1, TimeSpan.Zero, taken[0].WindowReset, windows[0], requests, tokens);
        return true;
    }

    /// <summary>Adds the grants of an admission call to each subject's lease.</summary>
    public void Grant(LimitPlan plan, AdmitResult result, long redisNowMs)
    {
        if (result.Grants is not { } grants)
        {
            return;
        }

        var now = time.GetTimestamp();
        // Local deadlines a little ahead of Redis' own: a window's quota is not used in its last 50 ms, a lease not in
        // its last second (renewal runs every third of its duration).
        var windowEnds = now + Ticks(result.WindowReset.ToUnixTimeMilliseconds() - redisNowMs - 50);
        var expires = now + Ticks((long)_options.Duration.TotalMilliseconds - 1000);
        for (var i = 0; i < plan.Subjects.Length; i++)
        {
            var lease = _leases.AddOrUpdate(plan.Subjects[i].Base, static b => new SubjectLease(b), static (b, existing) => existing.Ended ? new SubjectLease(b) : existing);
            lease.Grant(grants[i], result.Window, result.WindowReset, windowEnds, result.Requests[i], result.Tokens[i], expires, now);
        }
    }

    /// <summary>The leases to renew now: used (or in use) since the last renewal period.</summary>
    public List<SubjectLease> DueForRenewal()
    {
        var now = time.GetTimestamp();
        var since = now - Ticks((long)(_options.Duration.TotalMilliseconds / 3));
        return _leases.Values.Where(lease => lease.NeedsRenewal(now, since)).ToList();
    }

    public long RenewedUntil() => time.GetTimestamp() + Ticks((long)_options.Duration.TotalMilliseconds - 1000);

    /// <summary>What idle leases (or, when <paramref name="all"/>, every lease) give back; ended leases leave the pool.</summary>
    public List<LeaseReturn> TakeUnused(bool all)
    {
        var now = time.GetTimestamp();
        var idleSince = now - Ticks((long)_options.ReturnWhenIdle.TotalMilliseconds);
        var returns = new List<LeaseReturn>();
        foreach (var (key, lease) in _leases)
        {
            if (lease.TakeUnused(now, idleSince, all) is { } giveBack)
            {
                returns.Add(giveBack);
            }

            if (lease.Ended)
            {
                _leases.TryRemove(new KeyValuePair<string, SubjectLease>(key, lease));
            }
        }

        return returns;
    }

    private long Ticks(long milliseconds) => Math.Max(0, milliseconds) * time.TimestampFrequency / 1000;
}
