using System.Globalization;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Model;

/// <summary>
/// What a valid scope looks like, and the narrowing rule: a credential minted from another may only narrow it —
/// models and routes within the parent's allowlists, every limit at most the parent's. Pure functions; the messages
/// are returned to API clients as they are.
/// </summary>
public static class ScopeRules
{
    public const int MaxPatterns = 100;
    public const int MaxPatternLength = 200;
    public static readonly IReadOnlyList<string> BudgetPeriods = ["total", "daily", "monthly"];

    public static string? ValidateModels(IReadOnlyList<string>? models, string field = "models") =>
        ValidatePatterns(models, field, static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '/' or '@',
            "model ids use letters, digits and - _ . : / @");

    public static string? ValidateRoutes(IReadOnlyList<string>? routes, string field = "routes")
    {
        if (ValidatePatterns(routes, field, static c => c > ' ' && c < 127 && c is not '?' and not '#',
                "routes are URL paths without query strings") is { } error)
        {
            return error;
        }

        foreach (var route in routes ?? [])
        {
            if (route != "*" && !route.StartsWith('/'))
            {
                return $"{field}: \"{route}\" must start with '/' (e.g. \"/v1/messages\" or \"/v1/*\"), or be \"*\" for every route";
            }
        }

        return null;
    }

    public static string? ValidateLimits(CredentialLimits? limits, string field = "limits")
    {
        if (limits is null)
        {
            return null;
        }

        if (Positive(limits.RequestsPerMinute, $"{field}.requests_per_minute") is { } rpm) return rpm;
        if (Positive(limits.TokensPerMinute, $"{field}.tokens_per_minute") is { } tpm) return tpm;
        if (Positive(limits.MaxConcurrent, $"{field}.max_concurrent") is { } concurrent) return concurrent;

        if (limits.BudgetUsd is { } budget)
        {
            if (budget < 0 || budget > 1_000_000_000m)
            {
                return $"{field}.budget_usd must be between 0 and 1000000000 (got {budget.ToString(CultureInfo.InvariantCulture)})";
            }

            if (decimal.Round(budget, 6) != budget)
            {
                return $"{field}.budget_usd may have at most 6 decimal places";
            }
        }

        if (limits.BudgetPeriod is { } period)
        {
            if (!BudgetPeriods.Contains(period))
            {
                return $"{field}.budget_period must be one of \"total\", \"daily\", \"monthly\" (got \"{period}\")";
            }

            if (limits.BudgetUsd is null)
            {
                return $"{field}.budget_period needs {field}.budget_usd";
            }
        }

        return null;
    }

    /// <summary>A budget without a period is a total budget; stored and projected explicitly.</summary>
    public static CredentialLimits Normalize(CredentialLimits? limits) =>
        limits is null ? new CredentialLimits()
        : limits.BudgetUsd is not null && limits.BudgetPeriod is null ? limits with { BudgetPeriod = "total" }
        : limits;

    /// <summary>
    /// The scope of a credential minted from <paramref name="parent"/>: each requested part, or the parent's where none is
    /// requested. Fails when any requested part is wider than the parent's. Inputs must already have passed validation.
    /// </summary>
    public static NarrowedScope Narrow(CredentialScope parent, IReadOnlyList<string>? models, IReadOnlyList<string>? routes, CredentialLimits? limits)
    {
        var childModels = models ?? parent.Models;
        if (NotCovered(childModels, parent.Models) is { } wideModels)
        {
            return NarrowedScope.Fail($"models {Quote(wideModels)} are not within the parent credential's models {Quote(parent.Models)}; a minted token can only narrow its parent");
        }

        var childRoutes = routes ?? parent.Routes;
        if (NotCovered(childRoutes, parent.Routes) is { } wideRoutes)
        {
            return NarrowedScope.Fail($"routes {Quote(wideRoutes)} are not within the parent credential's routes {Quote(parent.Routes)}; a minted token can only narrow its parent");
        }

        var p = parent.Limits;
        var r = limits ?? new CredentialLimits();
        if (AtMost(r.RequestsPerMinute, p.RequestsPerMinute, "limits.requests_per_minute") is { } rpm) return NarrowedScope.Fail(rpm);
        if (AtMost(r.TokensPerMinute, p.TokensPerMinute, "limits.tokens_per_minute") is { } tpm) return NarrowedScope.Fail(tpm);
        if (AtMost(r.MaxConcurrent, p.MaxConcurrent, "limits.max_concurrent") is { } concurrent) return NarrowedScope.Fail(concurrent);

        decimal? budget;
        string? period;
        if (p.BudgetUsd is { } parentBudget)
        {
            budget = r.BudgetUsd ?? parentBudget;
            period = r.BudgetPeriod ?? p.BudgetPeriod ?? "total";
            if (budget > parentBudget)
            {
                return NarrowedScope.Fail($"limits.budget_usd ({Number(budget.Value)}) exceeds the parent credential's budget ({Number(parentBudget)}); a minted token can only narrow its parent");
            }

            if (period != (p.BudgetPeriod ?? "total"))
            {
                return NarrowedScope.Fail($"limits.budget_period must be the parent credential's (\"{p.BudgetPeriod ?? "total"}\"), got \"{period}\"");
            }
        }
        else
        {
            budget = r.BudgetUsd;
            period = budget is null ? null : r.BudgetPeriod ?? "total";
        }

        var childLimits = new CredentialLimits
        {
            RequestsPerMinute = r.RequestsPerMinute ?? p.RequestsPerMinute,
            TokensPerMinute = r.TokensPerMinute ?? p.TokensPerMinute,
            MaxConcurrent = r.MaxConcurrent ?? p.MaxConcurrent,
            BudgetUsd = budget,
            BudgetPeriod = period,
        };
        return NarrowedScope.Ok(new CredentialScope(childModels, childRoutes, childLimits));
    }

    /// <summary>Null when <paramref name="child"/> is within <paramref name="parent"/>, else why not.</summary>
    public static string? WhyNotWithin(CredentialScope child, CredentialScope parent)
    {
        if (NotCovered(child.Models, parent.Models) is { } models)
        {
            return $"models {Quote(models)} are not within the parent's models {Quote(parent.Models)}";
        }

        if (NotCovered(child.Routes, parent.Routes) is { } routes)
        {
            return $"routes {Quote(routes)} are not within the parent's routes {Quote(parent.Routes)}";
        }

        var p = parent.Limits;
        var c = child.Limits;
        if (Exceeds(c.RequestsPerMinute, p.RequestsPerMinute)) return "requests_per_minute exceeds the parent's";
        if (Exceeds(c.TokensPerMinute, p.TokensPerMinute)) return "tokens_per_minute exceeds the parent's";
        if (Exceeds(c.MaxConcurrent, p.MaxConcurrent)) return "max_concurrent exceeds the parent's";
        if (p.BudgetUsd is { } budget && (c.BudgetUsd is null || c.BudgetUsd > budget || (c.BudgetPeriod ?? "total") != (p.BudgetPeriod ?? "total")))
        {
            return "budget exceeds the parent's";
        }

        return null;
    }

    private static bool Exceeds(int? child, int? parent) => parent is { } p && (child is null || child > p);

    private static string? AtMost(int? requested, int? parent, string field) =>
        requested is { } r && parent is { } p && r > p
            ? $"{field} ({r}) exceeds the parent credential's limit ({p}); a minted token can only narrow its parent"
            : null;

    private static string? Positive(int? value, string field) =>
        value is { } v && v < 1 ? $"{field} must be at least 1 (got {v}); leave it out for no limit" : null;

    private static List<string>? NotCovered(IReadOnlyList<string> child, IReadOnlyList<string> parent)
    {
        List<string>? wide = null;
        foreach (var pattern in child)
        {
            if (!ModelPatterns.IsSubsetOf([pattern], parent))
            {
                (wide ??= []).Add(pattern);
            }
        }

        return wide;
    }

    private static string? ValidatePatterns(IReadOnlyList<string>? patterns, string field, Func<char, bool> allowed, string alphabet)
    {
        if (patterns is null)
        {
            return null;
        }

        if (patterns.Count == 0)
        {
            return $"{field} must not be empty; leave it out to keep the default, or use [\"*\"] for everything";
        }

        if (patterns.Count > MaxPatterns)
        {
            return $"{field} may have at most {MaxPatterns} entries";
        }

        foreach (var pattern in patterns)
        {
            if (string.IsNullOrEmpty(pattern))
            {
                return $"{field} must not contain empty entries";
            }

            if (pattern.Length > MaxPatternLength)
            {
                return $"{field}: entries may be at most {MaxPatternLength} characters";
            }

            var body = pattern.EndsWith('*') ? pattern.AsSpan(0, pattern.Length - 1) : pattern.AsSpan();
            foreach (var c in body)
            {
                if (c == '*')
                {
                    return $"{field}: \"{pattern}\" may only have '*' at the end (e.g. \"claude-sonnet-*\")";
                }

                if (!allowed(c))
                {
                    return $"{field}: \"{pattern}\" contains '{c}'; {alphabet}";
                }
            }
        }

        return null;
    }

    private static string Quote(IEnumerable<string> values) => "[" + string.Join(", ", values.Select(v => "\"" + v + "\"")) + "]";

    private static string Number(decimal value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The outcome of <see cref="ScopeRules.Narrow"/>: a scope, or the reason it would be wider than the parent's.</summary>
public readonly record struct NarrowedScope(CredentialScope? Scope, string? Error)
{
    public static NarrowedScope Ok(CredentialScope scope) => new(scope, null);
    public static NarrowedScope Fail(string error) => new(null, error);
}
