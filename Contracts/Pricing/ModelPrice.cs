namespace LlmGateway.Contracts.Pricing;

/// <summary>
/// List prices of one model in USD per million tokens. <see cref="CacheWritePerMTok"/> is the 5-minute prompt-cache
/// write (<c>cache_creation_input_tokens</c>), <see cref="CacheReadPerMTok"/> the cache hit (<c>cache_read_input_tokens</c>).
/// </summary>
public sealed record ModelPrice(decimal InputPerMTok, decimal OutputPerMTok, decimal CacheWritePerMTok, decimal CacheReadPerMTok)
{
    /// <summary>Anthropic's rule for prompt caching: a 5-minute cache write costs 1.25× input, a cache read 0.1× input.</summary>
    public static ModelPrice FromInputOutput(decimal inputPerMTok, decimal outputPerMTok) =>
        new(inputPerMTok, outputPerMTok, inputPerMTok * 1.25m, inputPerMTok * 0.1m);

    /// <summary>
    /// The cost of <paramref name="usage"/> in nano-USD (10⁻⁹ USD): tokens × USD-per-million × 1000, summed exactly in
    /// decimal and rounded once, half away from zero. Throws <see cref="OverflowException"/> beyond ±9.2·10¹⁸ nano-USD.
    /// </summary>
    public long CostNanoUsd(TokenUsage usage)
    {
        var nanos = (usage.InputTokens * InputPerMTok
            + usage.OutputTokens * OutputPerMTok
            + usage.CacheCreationInputTokens * CacheWritePerMTok
            + usage.CacheReadInputTokens * CacheReadPerMTok) * NanoUsdPerTokenAtOneUsdPerMTok;
        return decimal.ToInt64(decimal.Round(nanos, 0, MidpointRounding.AwayFromZero));
    }

    /// <summary>
    /// The most a request can cost before it runs: every input token billed at the dearer of input and cache write,
    /// plus <paramref name="maxOutputTokens"/> of output (for budget reservations).
    /// </summary>
    public long WorstCaseNanoUsd(long inputTokens, long maxOutputTokens)
    {
        var nanos = (inputTokens * Math.Max(InputPerMTok, CacheWritePerMTok) + maxOutputTokens * OutputPerMTok)
            * NanoUsdPerTokenAtOneUsdPerMTok;
        return decimal.ToInt64(decimal.Round(nanos, 0, MidpointRounding.ToPositiveInfinity));
    }

    /// <summary>1 USD per million tokens = 10⁻⁶ USD per token = 1000 nano-USD per token.</summary>
    private const decimal NanoUsdPerTokenAtOneUsdPerMTok = 1000m;
}
