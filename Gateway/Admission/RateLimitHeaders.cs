using System.Globalization;

namespace LlmGateway.Gateway.Admission;

/// <summary>
/// Anthropic's rate-limit response headers as the gateway computes them for the caller: the tightest requests/min and
/// tokens/min limit that applies to its credential (itself, the credentials it was minted from, its owner).
/// <c>anthropic-ratelimit-{requests|tokens}-{limit|remaining|reset}</c>; reset is RFC 3339 (UTC, whole seconds).
/// </summary>
/// <remarks>
/// The gateway's values replace the upstream's headers of the same names (the upstream's describe the operator's
/// organisation-wide key, not the caller); a family the gateway does not limit passes through from the upstream.
/// Other upstream families (<c>anthropic-ratelimit-input-tokens-*</c>, <c>-output-tokens-*</c>) always pass through.
/// </remarks>
internal sealed class RateLimitHeaders
{
    public const string RequestsLimit = "anthropic-ratelimit-requests-limit";
    public const string RequestsRemaining = "anthropic-ratelimit-requests-remaining";
    public const string RequestsReset = "anthropic-ratelimit-requests-reset";
    public const string TokensLimit = "anthropic-ratelimit-tokens-limit";
    public const string TokensRemaining = "anthropic-ratelimit-tokens-remaining";
    public const string TokensReset = "anthropic-ratelimit-tokens-reset";

    public RateLimitHeaders((long Limit, long Remaining)? requests, (long Limit, long Remaining)? tokens, DateTimeOffset reset)
    {
        Requests = requests;
        Tokens = tokens;
        Reset = reset;
    }

    public (long Limit, long Remaining)? Requests { get; }

    public (long Limit, long Remaining)? Tokens { get; }

    public DateTimeOffset Reset { get; }

    /// <summary>Sets the headers now (replacing any of the same name).</summary>
    public void Apply(IHeaderDictionary headers)
    {
        var reset = Reset.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        if (Requests is { } requests)
        {
            headers[RequestsLimit] = requests.Limit.ToString(CultureInfo.InvariantCulture);
            headers[RequestsRemaining] = requests.Remaining.ToString(CultureInfo.InvariantCulture);
            headers[RequestsReset] = reset;
        }

        if (Tokens is { } tokens)
        {
            headers[TokensLimit] = tokens.Limit.ToString(CultureInfo.InvariantCulture);
            headers[TokensRemaining] = tokens.Remaining.ToString(CultureInfo.InvariantCulture);
            headers[TokensReset] = reset;
        }
    }

    /// <summary>
    /// Sets the headers just before the response starts, after the upstream's headers were copied, so the gateway's
    /// values win without duplicates whatever path produced the response (upstream answer, retry, gateway error).
    /// </summary>
    public void ApplyWhenStarting(HttpResponse response) =>
        response.OnStarting(static state =>
        {
            var (headers, response) = ((RateLimitHeaders, HttpResponse))state;
            headers.Apply(response.Headers);
            return Task.CompletedTask;
        }, (this, response));
}
