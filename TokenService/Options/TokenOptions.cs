using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Options;

/// <summary>Configuration section <c>Tokens</c>: agent tokens minted by <c>POST /v1/tokens</c>.</summary>
public sealed class TokenOptions
{
    public const string Section = "Tokens";

    /// <summary>The longest life of an agent token (the product's rule; not configurable upwards).</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromHours(24);

    /// <summary>The shortest useful ttl.</summary>
    public static readonly TimeSpan MinTtl = TimeSpan.FromSeconds(1);

    /// <summary>Go duration used when a request has no ttl (shortened to the parent's remaining life).</summary>
    public string DefaultTtl { get; set; } = "1h";

    /// <summary>How many unexpired, unrevoked tokens one credential may have minted at once (a runaway agent's brake).</summary>
    public int MaxActivePerParent { get; set; } = 1000;

    public TimeSpan DefaultTtlValue => GoDuration.Parse(DefaultTtl);
}
