using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using LlmGateway.ServiceDefaults.Telemetry;
using Polly.Timeout;

namespace LlmGateway.ServiceDefaults.Resilience;

/// <summary>
/// Builds and keeps one standard pipeline per named HttpClient. IHttpClientFactory recycles handlers every few
/// minutes, so the pipeline (and with it the circuit breaker's state and the concurrency permits) lives here,
/// for the lifetime of the application, not in the handler.
/// </summary>
public sealed class HttpResiliencePipelineProvider : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<HttpResiliencePipeline>> _pipelines = new(StringComparer.Ordinal);
    private readonly IOptionsMonitor<HttpResilienceOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Counter<long> _events;

    public HttpResiliencePipelineProvider(IOptionsMonitor<HttpResilienceOptions> options, ILoggerFactory loggerFactory, IServiceProvider services)
    {
        _options = options;
        _timeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System;
        _logger = loggerFactory.CreateLogger("LlmGateway.ServiceDefaults.Resilience");
        var meter = services.GetService<IMeterFactory>()?.Create(ServiceDefaultsTelemetry.MeterName) ?? new Meter(ServiceDefaultsTelemetry.MeterName);
        _events = meter.CreateCounter<long>("llmgateway.http.client.resilience.events", unit: "{event}",
            description: "Retries, timeouts, circuit-breaker transitions and rejections of the standard HTTP resilience pipeline.");
    }

    /// <summary>The pipeline for the HttpClient named <paramref name="clientName"/>, built on first use.</summary>
    public HttpResiliencePipeline GetPipeline(string clientName) =>
        _pipelines.GetOrAdd(clientName, name => new Lazy<HttpResiliencePipeline>(() => Build(name))).Value;

    public void Dispose()
    {
        foreach (var pipeline in _pipelines.Values)
        {
            if (pipeline.IsValueCreated)
            {
                pipeline.Value.Dispose();
            }
        }
    }

    private HttpResiliencePipeline Build(string clientName)
    {
        // Get() runs HttpResilienceOptionsValidator and throws OptionsValidationException on bad settings.
        var options = _options.Get(clientName);
        var limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.ConcurrencyLimit.PermitLimit,
            QueueLimit = options.ConcurrencyLimit.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });

        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>
        {
            Name = clientName,
            InstanceName = "standard",
            TimeProvider = _timeProvider,
        };

        // Outer to inner, as AddStandardResilienceHandler: limiter, total timeout, retry, breaker, attempt timeout.
        builder.AddStrategy(_ => new ConcurrencyLimiterStrategy(limiter, clientName, () => Count(clientName, "rejected")), new ConcurrencyLimiterStrategyOptions());
        builder.AddTimeout(new TimeoutStrategyOptions
        {
            Name = "TotalRequestTimeout",
            Timeout = options.TotalRequestTimeout,
            OnTimeout = args => OnTimeout(clientName, "total request timeout", args.Timeout),
        });

        var retries = options.Retry.MaxRetryAttempts;
        if (retries > 0)
        {
            builder.AddRetry(CreateRetry(clientName, options));
        }

        builder.AddCircuitBreaker(CreateCircuitBreaker(clientName, options.CircuitBreaker));
        builder.AddTimeout(new TimeoutStrategyOptions
        {
            Name = "AttemptTimeout",
            Timeout = options.AttemptTimeout,
            OnTimeout = args => OnTimeout(clientName, "attempt timeout", args.Timeout),
        });

        return new HttpResiliencePipeline(builder.Build(), limiter, retriesEnabled: retries > 0);
    }

    private RetryStrategyOptions<HttpResponseMessage> CreateRetry(string clientName, HttpResilienceOptions options)
    {
        var retry = options.Retry;
        var honourRetryAfter = retry.ShouldRetryAfterHeader;
        var longestWait = options.TotalRequestTimeout;
        var timeProvider = _timeProvider;

        return new RetryStrategyOptions<HttpResponseMessage>
        {
            Name = "Retry",
            MaxRetryAttempts = retry.MaxRetryAttempts,
            Delay = retry.Delay,
            MaxDelay = retry.MaxDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = retry.UseJitter,
            ShouldHandle = args =>
            {
                if (!HttpTransientFailure.IsTransient(args.Outcome, args.Context.CancellationToken))
                {
                    return ValueTask.FromResult(false);
                }

                // Waiting longer than the whole budget would only end in a timeout; hand the answer back instead.
                var tooLong = honourRetryAfter
                    && args.Outcome.Result is { } response
                    && RetryAfterHeader.TryGetDelay(response, timeProvider, out var wait)
                    && wait > longestWait;
                return ValueTask.FromResult(!tooLong);
            },
            DelayGenerator = args =>
            {
                if (honourRetryAfter && args.Outcome.Result is { } response && RetryAfterHeader.TryGetDelay(response, timeProvider, out var wait))
                {
                    return ValueTask.FromResult<TimeSpan?>(wait);
                }

                return ValueTask.FromResult<TimeSpan?>(null);
            },
            OnRetry = args =>
            {
                ResilienceLog.Retrying(_logger, clientName, args.AttemptNumber + 1,
                    ResilienceLog.Describe(args.Outcome.Result, args.Outcome.Exception), args.RetryDelay.TotalMilliseconds);
                Count(clientName, "retry");
                return default;
            },
        };
    }

    private CircuitBreakerStrategyOptions<HttpResponseMessage> CreateCircuitBreaker(string clientName, HttpCircuitBreakerOptions breaker) => new()
    {
        Name = "CircuitBreaker",
        FailureRatio = breaker.FailureRatio,
        MinimumThroughput = breaker.MinimumThroughput,
        SamplingDuration = breaker.SamplingDuration,
        BreakDuration = breaker.BreakDuration,
        ShouldHandle = args => ValueTask.FromResult(HttpTransientFailure.IsTransient(args.Outcome, args.Context.CancellationToken)),
        OnOpened = args =>
        {
            ResilienceLog.CircuitOpened(_logger, clientName, args.BreakDuration.TotalMilliseconds,
                ResilienceLog.Describe(args.Outcome.Result, args.Outcome.Exception));
            Count(clientName, "circuit_opened");
            return default;
        },
        OnHalfOpened = _ =>
        {
            ResilienceLog.CircuitHalfOpened(_logger, clientName);
            Count(clientName, "circuit_half_opened");
            return default;
        },
        OnClosed = _ =>
        {
            ResilienceLog.CircuitClosed(_logger, clientName);
            Count(clientName, "circuit_closed");
            return default;
        },
    };

    private ValueTask OnTimeout(string clientName, string which, TimeSpan timeout)
    {
        ResilienceLog.TimedOut(_logger, clientName, which, timeout.TotalMilliseconds);
        Count(clientName, which == "attempt timeout" ? "attempt_timeout" : "total_timeout");
        return default;
    }

    private void Count(string clientName, string eventName) =>
        _events.Add(1, new KeyValuePair<string, object?>("http.client.name", clientName), new KeyValuePair<string, object?>("event.name", eventName));
}

/// <summary>One named client's standard pipeline and what its handler needs to know about it.</summary>
public sealed class HttpResiliencePipeline : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;

    internal HttpResiliencePipeline(ResiliencePipeline<HttpResponseMessage> pipeline, ConcurrencyLimiter limiter, bool retriesEnabled)
    {
        Pipeline = pipeline;
        _limiter = limiter;
        RetriesEnabled = retriesEnabled;
    }

    public ResiliencePipeline<HttpResponseMessage> Pipeline { get; }

    /// <summary>Whether a request may be sent more than once (its content must then be replayable).</summary>
    public bool RetriesEnabled { get; }

    public void Dispose() => _limiter.Dispose();
}
