namespace LlmGateway.ServiceDefaults.Resilience;

/// <summary>Reads a response's <c>Retry-After</c> header (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.</summary>
public static class RetryAfterHeader
{
    public static bool TryGetDelay(HttpResponseMessage response, TimeProvider timeProvider, out TimeSpan delay)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            delay = delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
            return true;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            delay = wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
            return true;
        }

        delay = default;
        return false;
    }
}
