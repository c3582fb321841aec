namespace LlmGateway.Contracts.Credentials;

/// <summary>
/// Allowlists of models or routes: exact names, or a prefix ending in <c>*</c> (<c>claude-sonnet-*</c>); <c>*</c> alone
/// matches everything. Comparison is ordinal and case-insensitive (model ids are lower-case by convention).
/// </summary>
public static class ModelPatterns
{
    public static bool Matches(string pattern, string value) =>
        pattern.EndsWith('*')
            ? value.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.OrdinalIgnoreCase)
            : string.Equals(pattern, value, StringComparison.OrdinalIgnoreCase);

    public static bool IsAllowed(IReadOnlyList<string> allowlist, string value)
    {
        for (var i = 0; i < allowlist.Count; i++)
        {
            if (Matches(allowlist[i], value))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when everything <paramref name="child"/> allows is also allowed by <paramref name="parent"/>:
    /// every child pattern must be covered by some parent pattern (a wildcard covers narrower wildcards and names).
    /// </summary>
    public static bool IsSubsetOf(IReadOnlyList<string> child, IReadOnlyList<string> parent)
    {
        foreach (var c in child)
        {
            var covered = false;
            foreach (var p in parent)
            {
                if (Covers(p, c))
                {
                    covered = true;
                    break;
                }
            }

            if (!covered)
            {
                return false;
            }
        }

        return true;
    }

    private static bool Covers(string parent, string child)
    {
        if (!parent.EndsWith('*'))
        {
            return string.Equals(parent, child, StringComparison.OrdinalIgnoreCase);
        }

        var stem = parent.AsSpan(0, parent.Length - 1);
        var childStem = child.EndsWith('*') ? child.AsSpan(0, child.Length - 1) : child.AsSpan();
        return childStem.StartsWith(stem, StringComparison.OrdinalIgnoreCase);
    }
}
