namespace LlmGateway.ServiceDefaults.Tests.Fakes;

/// <summary>
/// A clock that moves only when told (Microsoft.Extensions.TimeProvider.Testing does not restore here).
/// Timers fire inside <see cref="Advance"/>; tests wait for the timer they expect with <see cref="WaitForTimerAsync"/>
/// instead of sleeping.
/// </summary>
public sealed class FakeTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<FakeTimer> _timers = [];
    private readonly List<(Func<TimeSpan, bool> Match, TaskCompletionSource<TimeSpan> Signal)> _waiters = [];
    private DateTimeOffset _now;

    public FakeTimeProvider(DateTimeOffset start) => _now = start;

    public FakeTimeProvider()
        : this(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Completes when a timer armed with a due time matching <paramref name="dueTime"/> exists (or appears).</summary>
    public Task<TimeSpan> WaitForTimerAsync(Func<TimeSpan, bool> dueTime)
    {
        lock (_gate)
        {
            foreach (var timer in _timers)
            {
                if (timer.ArmedWith is { } armed && dueTime(armed))
                {
                    return Task.FromResult(armed);
                }
            }

            var signal = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((dueTime, signal));
            return signal.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public Task<TimeSpan> WaitForTimerAsync(TimeSpan dueTime) => WaitForTimerAsync(armed => armed == dueTime);

    /// <summary>Moves the clock forward, firing every timer that falls due on the way, in order.</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_gate)
        {
            target = _now + by;
        }

        while (true)
        {
            FakeTimer? due = null;
            lock (_gate)
            {
                foreach (var timer in _timers)
                {
                    if (timer.DueAt is { } at && at <= target && (due is null || at < due.DueAt))
                    {
                        due = timer;
                    }
                }

                if (due is null)
                {
                    _now = target;
                    return;
                }

                _now = due.DueAt!.Value;
                due.Rearm();
            }

            due.Fire();
        }
    }

    private void Armed(FakeTimer timer, TimeSpan dueTime)
    {
        // Called under _gate.
        if (!_timers.Contains(timer))
        {
            _timers.Add(timer);
        }

        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_waiters[i].Match(dueTime))
            {
                _waiters[i].Signal.TrySetResult(dueTime);
                _waiters.RemoveAt(i);
            }
        }
    }

    private sealed class FakeTimer(FakeTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public DateTimeOffset? DueAt { get; private set; }

        public TimeSpan? ArmedWith { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                _period = period;
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    DueAt = null;
                    ArmedWith = null;
                    owner._timers.Remove(this);
                    return true;
                }

                DueAt = owner._now + dueTime;
                ArmedWith = dueTime;
                owner.Armed(this, dueTime);
                return true;
            }
        }

        /// <summary>Called under the owner's lock when the timer fires.</summary>
        public void Rearm()
        {
            if (_period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan)
            {
                DueAt = owner._now + _period;
            }
            else
            {
                DueAt = null;
                ArmedWith = null;
                owner._timers.Remove(this);
            }
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._gate)
            {
                DueAt = null;
                ArmedWith = null;
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return default;
        }
    }
}
