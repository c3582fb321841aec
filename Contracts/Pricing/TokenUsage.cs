namespace LlmGateway.Contracts.Pricing;

/// <summary>
/// Token counts of one request as Anthropic reports them: <see cref="InputTokens"/> excludes the cache fields, so
/// the four counts are billed separately and never overlap.
/// </summary>
public readonly record struct TokenUsage(
    long InputTokens,
    long OutputTokens,
    long CacheCreationInputTokens = 0,
    long CacheReadInputTokens = 0)
{
    public long TotalTokens => InputTokens + OutputTokens + CacheCreationInputTokens + CacheReadInputTokens;
}
