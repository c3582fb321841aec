using System.Threading.RateLimiting;
using Polly;

namespace LlmGateway.ServiceDefaults.Resilience;

/// <summary>
/// Polly strategy that admits at most <see cref="ConcurrencyLimitOptions.PermitLimit"/> executions at once
/// (Polly.RateLimiting's concurrency limiter, which does not restore here). The permit is held until the
/// response headers arrive, not while the body streams.
/// </summary>
internal sealed class ConcurrencyLimiterStrategy(ConcurrencyLimiter limiter, string clientName, Action onRejected) : ResilienceStrategy<HttpResponseMessage>
{
    protected override async ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback,
        ResilienceContext context,
        TState state)
    {
        RateLimitLease lease;
        try
        {
            lease = await limiter.AcquireAsync(1, context.CancellationToken).ConfigureAwait(context.ContinueOnCapturedContext);
        }
        catch (OperationCanceledException exception)
        {
            return Outcome.FromException<HttpResponseMessage>(exception);
        }

        using (lease)
        {
            if (!lease.IsAcquired)
            {
                onRejected();
                return Outcome.FromException<HttpResponseMessage>(new ConcurrencyLimitRejectedException(clientName));
            }

            return await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
        }
    }
}

internal sealed class ConcurrencyLimiterStrategyOptions : ResilienceStrategyOptions
{
    public ConcurrencyLimiterStrategyOptions() => Name = "ConcurrencyLimiter";
}

/// <summary>Thrown when a client's concurrency limit (and queue, if any) is full.</summary>
public sealed class ConcurrencyLimitRejectedException : ExecutionRejectedException
{
    public ConcurrencyLimitRejectedException()
        : base("The HTTP client's concurrency limit was reached.")
    {
    }

    public ConcurrencyLimitRejectedException(string clientName)
        : base($"The concurrency limit of HTTP client '{clientName}' was reached; the request was not sent.")
    {
    }

    public ConcurrencyLimitRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
