using System.Globalization;
using System.Net.Http.Headers;

namespace LlmGateway.Contracts.Errors;

/// <summary>
/// The one rule for <c>retry-after</c>, both ways: what the services send (whole seconds, at least 1, so an SDK never
/// retries at once) and how an upstream's answer is read (Anthropic's <c>retry-after-ms</c> first, then
/// <c>retry-after</c> as seconds or an HTTP date).
/// </summary>
public static class RetryAfter
{
    public static string HeaderValue(TimeSpan wait) =>
        Math.Max(1L, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    /// <summary>How long the answer asks to wait (never negative), or null when it does not say.</summary>
    public static TimeSpan? Read(HttpResponseHeaders headers, DateTimeOffset now)
    {
        var values = headers.NonValidated;
        if (values.TryGetValues("retry-after-ms", out var ms)
            && double.TryParse(ms.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds))
        {
            return TimeSpan.FromMilliseconds(Math.Max(0, milliseconds));
        }

        if (values.TryGetValues("retry-after", out var after))
        {
            var text = after.ToString();
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            {
                return TimeSpan.FromSeconds(Math.Max(0, seconds));
            }

            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
            {
                return when > now ? when - now : TimeSpan.Zero;
            }
        }

        return null;
    }
}
