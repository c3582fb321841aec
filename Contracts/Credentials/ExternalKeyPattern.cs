namespace LlmGateway.Contracts.Credentials;

/// <summary>
/// The shape of a caller key issued by another system (e.g. <c>sk_live_…</c> / <c>sk_test_…</c> keys of an existing
/// platform) that the operator allows to be used as a gateway credential. Bound from configuration
/// <c>ExternalKeys:Patterns:{i}:Prefix|MinLength|MaxLength</c>; the same list must be given to TokenService and Gateway.
/// </summary>
/// <remarks>
/// Matching a pattern never makes a key valid: the gateway cannot ask the other system, so an admin registers each
/// accepted key explicitly (TokenService <c>POST /admin/credentials</c> with <c>external_key</c>, stored by hash only, with
/// its owner and scope). A pattern only tells the Gateway that a value which is not in gateway format is worth looking
/// up instead of being rejected as malformed. With no patterns configured (the default) only gateway-issued
/// credentials are accepted.
/// </remarks>
public sealed class ExternalKeyPattern
{
    /// <summary>Fewest characters after the prefix, so that a registered key always carries real entropy.</summary>
    public const int MinimumRandomLength = 16;

    /// <summary>Fixed leading text, e.g. <c>sk_live_</c>. Required.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Shortest accepted key, prefix included (at least the prefix plus <see cref="MinimumRandomLength"/>).</summary>
    public int MinLength { get; set; } = 24;

    /// <summary>Longest accepted key, prefix included.</summary>
    public int MaxLength { get; set; } = 256;

    /// <summary>Prefix, length and alphabet (ASCII letters, digits, <c>_</c>, <c>-</c>); no I/O.</summary>
    public bool Matches(ReadOnlySpan<char> key)
    {
        if (Prefix.Length == 0
            || key.Length < Math.Max(MinLength, Prefix.Length + MinimumRandomLength)
            || key.Length > MaxLength
            || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in key)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '_' and not '-')
            {
                return false;
            }
        }

        return true;
    }

    public static bool MatchesAny(IReadOnlyList<ExternalKeyPattern> patterns, ReadOnlySpan<char> key)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            if (patterns[i].Matches(key))
            {
                return true;
            }
        }

        return false;
    }
}
