namespace LlmGateway.ServiceDefaults.Resilience;

/// <summary>
/// The standard HTTP resilience pipeline's settings, bound from the configuration section
/// <see cref="SectionName"/> for every client and overridable per client with
/// <c>IHttpClientBuilder.ConfigureStandardResilience</c>. The defaults are those of
/// Microsoft.Extensions.Http.Resilience's <c>AddStandardResilienceHandler</c>, which Aspire's service defaults use.
/// </summary>
public sealed class HttpResilienceOptions
{
    public const string SectionName = "HttpResilience";

    /// <summary>Concurrent requests allowed through one client's pipeline (outermost strategy).</summary>
    public ConcurrencyLimitOptions ConcurrencyLimit { get; set; } = new();

    /// <summary>Budget for the whole call, every retry and delay included.</summary>
    public TimeSpan TotalRequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public HttpRetryOptions Retry { get; set; } = new();

    public HttpCircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>Budget for one attempt, until the response headers arrive.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class ConcurrencyLimitOptions
{
    public int PermitLimit { get; set; } = 1000;

    /// <summary>Requests that may wait for a permit; 0 rejects at once when every permit is taken.</summary>
    public int QueueLimit { get; set; }
}

public sealed class HttpRetryOptions
{
    /// <summary>Retries after the first attempt; 0 turns retrying off (and with it request buffering).</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Base delay: attempt n waits Delay × 2^(n-1) (exponential back-off).</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(2);

    public bool UseJitter { get; set; } = true;

    /// <summary>Upper bound for a computed delay; none by default.</summary>
    public TimeSpan? MaxDelay { get; set; }

    /// <summary>
    /// Wait what a 429/503 response's <c>Retry-After</c> header asks (delta-seconds or HTTP-date) instead of the back-off.
    /// A response asking for longer than the total request timeout is returned to the caller rather than waited for.
    /// </summary>
    public bool ShouldRetryAfterHeader { get; set; } = true;
}

public sealed class HttpCircuitBreakerOptions
{
    /// <summary>Share of failed calls within <see cref="SamplingDuration"/> that opens the circuit.</summary>
    public double FailureRatio { get; set; } = 0.1;

    /// <summary>Calls that must be seen within <see cref="SamplingDuration"/> before the ratio counts.</summary>
    public int MinimumThroughput { get; set; } = 100;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open before one probe call is let through (half-open).</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}
