namespace LlmGateway.Gateway.Routing;

public enum CircuitState
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>What <c>GET /admin/circuit-breaker</c> shows of one breaker.</summary>
internal readonly record struct CircuitSnapshot(
    string Name, string Upstream, CircuitState State, int ConsecutiveFailures, int WindowFailures, int WindowCalls,
    DateTimeOffset? OpenedAt, DateTimeOffset? NextProbe);

/// <summary>
/// The circuit breaker of one target (an upstream key or deployment). Closed: every call passes; it opens after
/// <see cref="CircuitBreakerOptions.ConsecutiveFailures"/> failures in a row, or when the failure ratio over the
/// sampling window reaches <see cref="CircuitBreakerOptions.FailureRatio"/> with at least
/// <see cref="CircuitBreakerOptions.MinimumThroughput"/> calls. Open: routing skips the target until
/// <see cref="CircuitBreakerOptions.BreakDuration"/> has passed; then one call is let through as a probe
/// (half-open), whose success closes the breaker and whose failure opens it again.
/// </summary>
/// <remarks>
/// Written here rather than taken from Polly's circuit-breaker strategy: Polly's breaker wraps the execution and
/// signals an open circuit by throwing (routing must instead look at every target's state before choosing one,
/// with no exception per skipped target on the hot path), it has no consecutive-failures trigger (ratio and
/// minimum throughput only), and its state provider exposes only the state — not the failure counts, opened-at and
/// next-probe times the admin listing needs. The state machine is ~100 lines under one lock per target.
/// </remarks>
internal sealed class CircuitBreaker(string name, string upstream, bool enabled, CircuitBreakerOptions options, TimeProvider time, Action<CircuitBreaker, CircuitState, CircuitState>? changed)
{
    private readonly Lock _gate = new();
    private CircuitState _state;
    private int _consecutive;
    private int _windowCalls;
    private int _windowFailures;
    private long _windowStart = time.GetTimestamp();
    private DateTimeOffset? _openedAt;
    private DateTimeOffset _nextProbe;
    private bool _probeInFlight;
    private DateTimeOffset _probeStarted;

    /// <summary>Target name: unique among breakers, the name <c>POST /admin/circuit-breaker/reset</c> takes.</summary>
    public string Name { get; } = name;

    public string Upstream { get; } = upstream;

    public bool Enabled { get; } = enabled;

    public CircuitState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>
    /// Whether a call may go to the target now. In the open state, once the break is over, the first caller becomes
    /// the half-open probe (<paramref name="probe"/>); others keep skipping the target until its verdict.
    /// </summary>
    public bool TryAcquire(out bool probe)
    {
        probe = false;
        if (!Enabled)
        {
            return true;
        }

        CircuitState before, after;
        lock (_gate)
        {
            before = _state;
            switch (_state)
            {
                case CircuitState.Closed:
                    return true;
                case CircuitState.Open when time.GetUtcNow() >= _nextProbe:
                    _state = CircuitState.HalfOpen;
                    _probeInFlight = true;
                    _probeStarted = time.GetUtcNow();
                    probe = true;
                    break;
                // A probe that never reported (it cannot happen by design, but a stuck half-open breaker would skip
                // its target for good) is replaced after a break's length.
                case CircuitState.HalfOpen when !_probeInFlight || time.GetUtcNow() - _probeStarted >= options.BreakDuration:
                    _probeInFlight = true;
                    _probeStarted = time.GetUtcNow();
                    probe = true;
                    return true;
                default:
                    return false;
            }

            after = _state;
        }

        changed?.Invoke(this, before, after);
        return true;
    }

    /// <summary>The target answered (any status that is not a failure); a probe's success closes the breaker.</summary>
    public void OnSuccess()
    {
        if (!Enabled)
        {
            return;
        }

        CircuitState before;
        lock (_gate)
        {
            before = _state;
            Roll();
            _windowCalls++;
            _consecutive = 0;
            if (_state == CircuitState.Closed)
            {
                return;
            }

            Close();
        }

        changed?.Invoke(this, before, CircuitState.Closed);
    }

    /// <summary>The target failed before its first response byte.</summary>
    public void OnFailure()
    {
        if (!Enabled)
        {
            return;
        }

        CircuitState before;
        lock (_gate)
        {
            before = _state;
            Roll();
            _windowCalls++;
            _windowFailures++;
            _consecutive++;
            var trips = _state == CircuitState.HalfOpen
                || (_state == CircuitState.Closed
                    && (_consecutive >= options.ConsecutiveFailures
                        || (_windowCalls >= options.MinimumThroughput && _windowFailures >= options.FailureRatio * _windowCalls)));
            if (!trips)
            {
                return;
            }

            _state = CircuitState.Open;
            _probeInFlight = false;
            var now = time.GetUtcNow();
            _openedAt = now;
            _nextProbe = now + options.BreakDuration;
        }

        changed?.Invoke(this, before, CircuitState.Open);
    }

    /// <summary>A call ended without a verdict on the target (the client went away): a probe slot is given back.</summary>
    public void Release(bool probe)
    {
        if (!probe)
        {
            return;
        }

        lock (_gate)
        {
            if (_state == CircuitState.HalfOpen)
            {
                _probeInFlight = false;
            }
        }
    }

    /// <summary>Closes the breaker (admin reset). Returns whether it was not closed.</summary>
    public bool Reset()
    {
        CircuitState before;
        lock (_gate)
        {
            before = _state;
            Close();
        }

        if (before != CircuitState.Closed)
        {
            changed?.Invoke(this, before, CircuitState.Closed);
            return true;
        }

        return false;
    }

    /// <summary>How long until the target may be tried again (zero when it may be now).</summary>
    public TimeSpan WaitTime()
    {
        lock (_gate)
        {
            return _state switch
            {
                CircuitState.Open => _nextProbe - time.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
                CircuitState.HalfOpen when _probeInFlight => TimeSpan.FromSeconds(1),
                _ => TimeSpan.Zero,
            };
        }
    }

    public CircuitSnapshot Snapshot()
    {
        lock (_gate)
        {
            Roll();
            return new CircuitSnapshot(Name, Upstream, _state, _consecutive, _windowFailures, _windowCalls,
                _state == CircuitState.Closed ? null : _openedAt,
                _state == CircuitState.Open ? _nextProbe : null);
        }
    }

    private void Close()
    {
        _state = CircuitState.Closed;
        _probeInFlight = false;
        _consecutive = 0;
        _windowCalls = 0;
        _windowFailures = 0;
        _windowStart = time.GetTimestamp();
        _openedAt = null;
    }

    private void Roll()
    {
        var now = time.GetTimestamp();
        if (time.GetElapsedTime(_windowStart, now) >= options.SamplingWindow)
        {
            _windowStart = now;
            _windowCalls = 0;
            _windowFailures = 0;
        }
    }
}
