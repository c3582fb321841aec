using LlmGateway.Contracts.Credentials;

namespace LlmGateway.AdminUi.Model;

// GET /admin/credentials/{id}/limits on the gateway (Gateway/Limits/LimitsAdminApi.cs owns this shape): the limits the
// gateway enforces for a credential, where each comes from, and the live counters in Redis.

public sealed record CredentialLimitsReport
{
    public required string Id { get; init; }
    public CredentialKind Kind { get; init; }
    public string? Status { get; init; }
    public string? ParentId { get; init; }
    public CredentialOwner? Owner { get; init; }
    public IReadOnlyList<string> Models { get; init; } = [];
    public IReadOnlyList<string> Routes { get; init; } = [];
    public DateTimeOffset? ExpiresAt { get; init; }
    public CredentialLimits Limits { get; init; } = new();

    /// <summary>False when the gateway runs with <c>Limits:Enabled=false</c>: nothing is enforced.</summary>
    public bool Enabled { get; init; }
    public IReadOnlyList<EnforcedLimits> Enforced { get; init; } = [];

    /// <summary>False when the gateway could not read Redis: limits are known, live usage is not.</summary>
    public bool UsageAvailable { get; init; }
}

/// <summary>The limits of one subject a request is charged to: the credential, each ancestor, its owner.</summary>
public sealed record EnforcedLimits
{
    /// <summary><c>credential</c>, <c>ancestor</c> or <c>owner</c>.</summary>
    public required string Scope { get; init; }
    public required string Id { get; init; }
    public CredentialKind? Kind { get; init; }
    public RateLimitState? RequestsPerMinute { get; init; }
    public RateLimitState? TokensPerMinute { get; init; }
    public ConcurrencyState? Concurrent { get; init; }
    public BudgetState? Budget { get; init; }

    public bool HasAny => RequestsPerMinute is not null || TokensPerMinute is not null || Concurrent is not null || Budget is not null;
}

/// <summary><c>source</c> is <c>credential</c>, <c>default</c> or <c>configuration</c>.</summary>
public sealed record RateLimitState(long Limit, string Source, long? Used, long? Remaining, DateTimeOffset? Reset);

public sealed record ConcurrencyState(long Limit, string Source, long? InFlight);

public sealed record BudgetState(
    decimal LimitUsd,
    string Source,
    string Period,
    string? PeriodKey,
    decimal? SpentUsd,
    decimal? ReservedUsd,
    decimal? RemainingUsd,
    DateTimeOffset? ResetsAt);
