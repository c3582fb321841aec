using LlmGateway.Gateway.Routing;
using LlmGateway.Gateway.Tests.Infrastructure;

namespace LlmGateway.Gateway.Tests.Unit;

public sealed class CircuitBreakerTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly List<(CircuitState From, CircuitState To)> _changes = [];

    private CircuitBreaker Create(int consecutive = 3, double ratio = 0.5, int throughput = 10) => new("t", "u", enabled: true,
        new CircuitBreakerOptions
        {
            ConsecutiveFailures = consecutive,
            FailureRatio = ratio,
            MinimumThroughput = throughput,
            SamplingWindow = TimeSpan.FromSeconds(10),
            BreakDuration = TimeSpan.FromSeconds(5),
        },
        _time, (_, from, to) => _changes.Add((from, to)));

    [Fact]
    public void Opens_on_the_failure_ratio_over_the_window_without_consecutive_failures()
    {
        var breaker = Create(consecutive: 100, ratio: 0.5, throughput: 10);
        for (var i = 0; i < 9; i++)
        {
            if (i % 2 == 0)
            {
                breaker.OnFailure();
            }
            else
            {
                breaker.OnSuccess();
            }
        }

        Assert.Equal(CircuitState.Closed, breaker.State); // 5 of 9: below the minimum throughput
        breaker.OnSuccess();
        Assert.Equal(CircuitState.Closed, breaker.State); // 5 of 10 failed, but the last call succeeded
        breaker.OnFailure();
        Assert.Equal(CircuitState.Open, breaker.State); // 6 of 11
        Assert.False(breaker.TryAcquire(out _));
    }

    [Fact]
    public void Failures_of_an_expired_window_do_not_count()
    {
        var breaker = Create(consecutive: 100, ratio: 0.5, throughput: 4);
        breaker.OnFailure();
        breaker.OnFailure();
        breaker.OnFailure();
        breaker.OnSuccess();
        _time.Advance(TimeSpan.FromSeconds(11));
        breaker.OnFailure();
        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.Equal(1, breaker.Snapshot().WindowFailures);
    }

    [Fact]
    public void Half_open_lets_exactly_one_probe_through_and_a_released_probe_lets_the_next_one()
    {
        var breaker = Create(consecutive: 2);
        breaker.OnFailure();
        breaker.OnFailure();
        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.Equal(TimeSpan.FromSeconds(5), breaker.WaitTime());

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(breaker.TryAcquire(out var probe));
        Assert.True(probe);
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
        Assert.False(breaker.TryAcquire(out _));

        breaker.Release(probe);
        Assert.True(breaker.TryAcquire(out var second));
        Assert.True(second);
        breaker.OnSuccess();
        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.Equal([(CircuitState.Closed, CircuitState.Open), (CircuitState.Open, CircuitState.HalfOpen), (CircuitState.HalfOpen, CircuitState.Closed)], _changes);
    }

    [Fact]
    public void A_probe_that_never_reports_is_replaced_after_a_break()
    {
        var breaker = Create(consecutive: 1);
        breaker.OnFailure();
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(breaker.TryAcquire(out _));
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(breaker.TryAcquire(out _));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(breaker.TryAcquire(out var probe));
        Assert.True(probe);
    }

    [Fact]
    public void A_disabled_breaker_never_opens()
    {
        var breaker = new CircuitBreaker("t", "u", enabled: false, new CircuitBreakerOptions { ConsecutiveFailures = 1 }, _time, null);
        breaker.OnFailure();
        breaker.OnFailure();
        Assert.True(breaker.TryAcquire(out _));
        Assert.Equal(CircuitState.Closed, breaker.State);
    }
}
