using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmGateway.Gateway.Telemetry;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Routing;

/// <summary>
/// Every target's circuit breaker, by target name. State changes are logged and counted
/// (<c>llmgateway.gateway.circuit_breaker.transitions</c>, by target and new state); the number of breakers in each
/// state is observable as <c>llmgateway.gateway.circuit_breaker.state</c>.
/// </summary>
internal sealed partial class CircuitBreakerRegistry
{
    private static readonly CircuitState[] AllStates = [CircuitState.Closed, CircuitState.Open, CircuitState.HalfOpen];
    private readonly ConcurrentDictionary<string, CircuitBreaker> _breakers = new(StringComparer.Ordinal);
    private readonly List<CircuitBreaker> _ordered = [];
    private readonly CircuitBreakerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CircuitBreakerRegistry> _logger;
    private readonly Counter<long> _transitions;

    public CircuitBreakerRegistry(IOptions<RoutingOptions> options, CircuitBreakerClock clock, IMeterFactory meters, ILogger<CircuitBreakerRegistry> logger)
    {
        _options = options.Value.CircuitBreaker;
        _time = clock.Time;
        _logger = logger;
        var meter = meters.Create(GatewayTelemetry.Name);
        _transitions = meter.CreateCounter<long>("llmgateway.gateway.circuit_breaker.transitions", "{transition}",
            "Circuit breaker state changes, by target (llmgateway.upstream.target) and new state (llmgateway.circuit_breaker.state).");
        meter.CreateObservableGauge("llmgateway.gateway.circuit_breaker.state", Observe, "{breaker}",
            "Circuit breakers in each state (closed, open, half_open), by target.");
    }

    public CircuitBreaker Register(string name, string upstream, bool enabled)
    {
        var breaker = _breakers.GetOrAdd(name, n => new CircuitBreaker(n, upstream, enabled, _options, _time, OnChanged));
        lock (_ordered)
        {
            if (!_ordered.Contains(breaker))
            {
                _ordered.Add(breaker);
            }
        }

        return breaker;
    }

    public IReadOnlyList<CircuitBreaker> All
    {
        get
        {
            lock (_ordered)
            {
                return [.. _ordered];
            }
        }
    }

    public bool TryGet(string name, out CircuitBreaker breaker) => _breakers.TryGetValue(name, out breaker!);

    /// <summary>Closes one breaker (by target name, or every target of an upstream by its name) or all of them; returns how many matched.</summary>
    public int Reset(string? name, string origin)
    {
        var matched = 0;
        foreach (var breaker in All)
        {
            if (name is null || breaker.Name == name || breaker.Upstream == name)
            {
                matched++;
                if (breaker.Reset())
                {
                    LogReset(_logger, breaker.Name, origin);
                }
            }
        }

        return matched;
    }

    public static string StateName(CircuitState state) => state switch
    {
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half_open",
        _ => "closed",
    };

    private void OnChanged(CircuitBreaker breaker, CircuitState from, CircuitState to)
    {
        if (from == to)
        {
            return;
        }

        if (to == CircuitState.Open)
        {
            LogOpened(_logger, breaker.Name, breaker.Upstream, StateName(from), _options.BreakDuration.TotalSeconds);
        }
        else
        {
            LogChanged(_logger, breaker.Name, breaker.Upstream, StateName(from), StateName(to));
        }

        _transitions.Add(1, new TagList { { "llmgateway.upstream.target", breaker.Name }, { "llmgateway.circuit_breaker.state", StateName(to) } });
    }

    private IEnumerable<Measurement<int>> Observe()
    {
        foreach (var breaker in All)
        {
            var state = breaker.State;
            foreach (var candidate in AllStates)
            {
                yield return new Measurement<int>(state == candidate ? 1 : 0,
                    new KeyValuePair<string, object?>("llmgateway.upstream.target", breaker.Name),
                    new KeyValuePair<string, object?>("llmgateway.circuit_breaker.state", StateName(candidate)));
            }
        }
    }

    [LoggerMessage(1801, LogLevel.Warning, "Circuit breaker of {Target} (upstream {Upstream}) opened from {From}: skipped for {BreakSeconds:F1} s")]
    private static partial void LogOpened(ILogger logger, string target, string upstream, string from, double breakSeconds);

    [LoggerMessage(1802, LogLevel.Information, "Circuit breaker of {Target} (upstream {Upstream}): {From} → {To}")]
    private static partial void LogChanged(ILogger logger, string target, string upstream, string from, string to);

    [LoggerMessage(1803, LogLevel.Information, "Circuit breaker of {Target} reset ({Origin})")]
    private static partial void LogReset(ILogger logger, string target, string origin);
}

/// <summary>The time source of the breakers (the process's <see cref="TimeProvider"/>; a test may give them their own).</summary>
internal sealed record CircuitBreakerClock(TimeProvider Time);
