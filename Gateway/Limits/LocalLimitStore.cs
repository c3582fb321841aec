using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// The per-instance fallback while Redis cannot be asked: the same rules as the admission script (fixed one-minute
/// windows, tokens estimated at admission and corrected at settlement, concurrency slots), kept in this process only.
/// Budgets are not enforced here (they follow <see cref="RedisUnavailablePolicy.Budgets"/>).
/// </summary>
/// <remarks>
/// Its own code rather than <c>System.Threading.RateLimiting</c>: a fixed-window limiter cannot take back the part of a
/// token estimate a response did not use, and the behaviour should not change when a request is decided here instead of
/// in Redis. Bounded by <see cref="LimitOptions.FallbackCapacity"/>: idle subjects of past windows are dropped first.
/// </remarks>
internal sealed class LocalLimitStore(IOptions<LimitOptions> options, TimeProvider time)
{
    private readonly int _capacity = options.Value.FallbackCapacity;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Counters> _subjects = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _subjects.Count;
            }
        }
    }

    public AdmitResult Admit(LimitPlan plan)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var window = now / LimitScripts.WindowMs;
        var reset = DateTimeOffset.FromUnixTimeMilliseconds((window + 1) * LimitScripts.WindowMs);
        var subjects = plan.Subjects;
        var requests = new long[subjects.Length];
        var tokens = new long[subjects.Length];
        var counters = new Counters[subjects.Length];
        lock (_gate)
        {
            if (_subjects.Count >= _capacity)
            {
                Trim(window);
            }

            for (var i = 0; i < subjects.Length; i++)
            {
                if (!_subjects.TryGetValue(subjects[i].Base, out var c))
                {
                    c = new Counters();
                    _subjects[subjects[i].Base] = c;
                }

                if (c.Window != window)
                {
                    (c.Window, c.Requests, c.Tokens) = (window, 0, 0);
                }

                counters[i] = c;
                requests[i] = c.Requests;
                tokens[i] = c.Tokens;
            }

            for (var i = 0; i < subjects.Length; i++)
            {
                var subject = subjects[i];
                var c = counters[i];
                var status = subject.RequestsPerMinute > 0 && c.Requests >= subject.RequestsPerMinute ? LimitStatus.RequestsPerMinute
                    : plan.TokensPerMinuteOf(subject) > 0 && c.Tokens >= subject.TokensPerMinute ? LimitStatus.TokensPerMinute
                    : subject.MaxConcurrent > 0 && c.InFlight >= subject.MaxConcurrent ? LimitStatus.Concurrency
                    : LimitStatus.Admitted;
                if (status != LimitStatus.Admitted)
                {
                    var retry = status == LimitStatus.Concurrency
                        ? TimeSpan.FromSeconds(1)
                        : TimeSpan.FromMilliseconds((window + 1) * LimitScripts.WindowMs - now);
                    return new AdmitResult(status, i, retry, reset, window, requests, tokens);
                }
            }

            for (var i = 0; i < subjects.Length; i++)
            {
                var c = counters[i];
                if (subjects[i].RequestsPerMinute > 0)
                {
                    requests[i] = ++c.Requests;
                }

                if (plan.TokensPerMinuteOf(subjects[i]) > 0)
                {
                    tokens[i] = c.Tokens += plan.TokenEstimate;
                }

                c.InFlight++;
            }
        }

        return new AdmitResult(LimitStatus.Admitted, -1, TimeSpan.Zero, reset, window, requests, tokens);
    }

    /// <summary>Frees the request's slots and corrects the tokens of its window, if that window is still current.</summary>
    public void Settle(LimitPlan plan, long window, long tokenDelta)
    {
        lock (_gate)
        {
            foreach (var subject in plan.Subjects)
            {
                if (!_subjects.TryGetValue(subject.Base, out var c))
                {
                    continue;
                }

                c.InFlight = Math.Max(0, c.InFlight - 1);
                if (c.Window == window && plan.TokensPerMinuteOf(subject) > 0)
                {
                    c.Tokens += tokenDelta;
                }
            }
        }
    }

    /// <summary>Drops idle subjects of past windows, then (still full) idle ones of this window, down to 90% of the capacity.</summary>
    private void Trim(long window)
    {
        var target = _capacity * 9 / 10;
        foreach (var currentToo in (ReadOnlySpan<bool>)[false, true])
        {
            List<string>? idle = null;
            foreach (var (key, c) in _subjects)
            {
                if (c.InFlight == 0 && (c.Window < window || currentToo))
                {
                    (idle ??= []).Add(key);
                }
            }

            foreach (var key in idle ?? [])
            {
                if (_subjects.Count <= target)
                {
                    return;
                }

                _subjects.Remove(key);
            }
        }
    }

    private sealed class Counters
    {
        public long Window = -1;
        public long Requests;
        public long Tokens;
        public int InFlight;
    }
}
