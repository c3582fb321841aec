namespace LlmGateway.UsageWorker.Model;

/// <summary>A dimension usage can be grouped by (query value in parentheses).</summary>
internal enum UsageDimension
{
    /// <summary><c>credential</c>: credential_id.</summary>
    Credential,

    /// <summary><c>owner</c>: owner_type and owner_id.</summary>
    Owner,

    /// <summary><c>organization</c>: org_id.</summary>
    Organization,

    /// <summary><c>agent</c>: agent_name.</summary>
    Agent,

    /// <summary><c>device</c>: device_id.</summary>
    Device,

    /// <summary><c>model</c>.</summary>
    Model,
}

internal enum Granularity
{
    Hour,
    Day,
}

/// <summary>Equality filters a caller asked for; every given one must match.</summary>
internal sealed record UsageFilter(
    string? CredentialId = null,
    string? OwnerId = null,
    string? OrganizationId = null,
    string? AgentName = null,
    string? DeviceId = null,
    string? Model = null);

/// <summary>
/// What a caller may see: an admin everything; a device its own usage (every credential it has held, since refresh
/// rotates them); a person signed in with a JWT their organization's usage (or their own, without an organization);
/// any other credential its own usage.
/// </summary>
internal sealed record UsageScope(bool IsAdmin, string? DeviceId = null, string? CredentialId = null, string? OrganizationId = null, string? OwnerId = null)
{
    public static UsageScope Admin { get; } = new(true);

    /// <summary>The scope the caller scheme authenticated (the usage API's routes require it by policy).</summary>
    public static UsageScope Of(HttpContext context) =>
        context.Features.Get<UsageScope>() ?? throw new InvalidOperationException("The usage API's routes require the caller policy.");
}

/// <summary><c>GET /admin/usage</c>: rollups over [From, To), bucketed and grouped.</summary>
internal sealed record UsageReportQuery(
    DateTimeOffset From,
    DateTimeOffset To,
    Granularity Granularity,
    IReadOnlyList<UsageDimension> GroupBy,
    UsageFilter Filter,
    bool Csv);

/// <summary><c>GET /admin/stats</c>: totals, rates, percentiles and top lists over [From, To).</summary>
internal sealed record StatsQuery(DateTimeOffset From, DateTimeOffset To, UsageFilter Filter, int Top);

/// <summary><c>GET /admin/usage/export</c>: every request over [From, To) as CSV.</summary>
internal sealed record ExportQuery(DateTimeOffset From, DateTimeOffset To, UsageFilter Filter);

/// <summary>A budget counter's worth of durable spend (see <see cref="Contracts.RedisKeys.BudgetSpent"/>).</summary>
internal sealed record SpendTotal(string Scope, string Id, long TotalNanoUsd, long MonthNanoUsd, long DayNanoUsd);
