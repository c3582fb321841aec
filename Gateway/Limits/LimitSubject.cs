using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Gateway.Limits;

/// <summary>Whose limits a subject carries: the calling credential, one it was minted from, or its owner.</summary>
internal enum SubjectRole
{
    Credential,
    Ancestor,
    Owner,
}

/// <summary>
/// One holder of limits a request is charged to, with its effective limits (its own, else the defaults of its kind).
/// A request is admitted only if every subject admits it, and then charged to all of them in the same Redis script.
/// </summary>
/// <remarks>
/// Redis state of a subject (see <see cref="LimitKeys"/>): <c>{base}:rpm:{minute}</c> and <c>{base}:tpm:{minute}</c>
/// (fixed one-minute windows, by Redis server time), <c>{base}:inflight</c> (ZSET of request ids scored by lease
/// expiry, ms) and <c>{base}:reserved</c> (HASH request id → reserved nano-USD, plus <c>#total</c>). Settled spend is
/// in <see cref="RedisKeys.BudgetSpent"/>: a credential's budget covers its own spend (<c>cred</c>) plus that of the
/// tokens minted from it (<c>minted</c>); an owner's covers <c>owner</c>.
/// </remarks>
internal sealed class LimitSubject
{
    public LimitSubject(SubjectRole role, string id, CredentialKind? kind, CredentialLimits own, CredentialLimits? defaults)
    {
        Role = role;
        Id = id;
        Kind = kind;
        Own = own;
        RequestsPerMinute = own.RequestsPerMinute ?? defaults?.RequestsPerMinute ?? 0;
        TokensPerMinute = own.TokensPerMinute ?? defaults?.TokensPerMinute ?? 0;
        MaxConcurrent = own.MaxConcurrent ?? defaults?.MaxConcurrent ?? 0;
        var budget = own.BudgetUsd is not null ? own : defaults?.BudgetUsd is not null ? defaults : null;
        BudgetNanoUsd = budget is null ? -1 : decimal.ToInt64(decimal.Round(budget.BudgetUsd!.Value * NanoPerUsd, 0, MidpointRounding.ToZero));
        BudgetPeriod = budget?.BudgetPeriod ?? "total";
        BudgetFromDefaults = budget is not null && !ReferenceEquals(budget, own);
        Scope = role == SubjectRole.Owner ? RedisKeys.BudgetScopeOwner : RedisKeys.BudgetScopeCredential;
        Base = LimitKeys.Base(Scope, id);
    }

    public const decimal NanoPerUsd = 1_000_000_000m;

    public SubjectRole Role { get; }

    public string Id { get; }

    /// <summary>The credential kind (null for an owner).</summary>
    public CredentialKind? Kind { get; }

    /// <summary>The limits the credential itself carries (or the configured owner limits).</summary>
    public CredentialLimits Own { get; }

    /// <summary><c>cred</c> or <c>owner</c>.</summary>
    public string Scope { get; }

    /// <summary>Prefix of this subject's limit keys.</summary>
    public string Base { get; }

    /// <summary>0: no limit.</summary>
    public int RequestsPerMinute { get; }

    /// <summary>0: no limit.</summary>
    public int TokensPerMinute { get; }

    /// <summary>0: no limit.</summary>
    public int MaxConcurrent { get; }

    /// <summary>-1: no budget.</summary>
    public long BudgetNanoUsd { get; }

    public bool BudgetFromDefaults { get; }

    /// <summary><c>total</c>, <c>daily</c> or <c>monthly</c>.</summary>
    public string BudgetPeriod { get; }

    public bool HasBudget => BudgetNanoUsd >= 0;

    public bool HasRateLimits => RequestsPerMinute > 0 || TokensPerMinute > 0 || MaxConcurrent > 0;

    /// <summary>Whether admission has anything to check for this subject.</summary>
    public bool IsLimited => HasRateLimits || HasBudget;

    /// <summary>The settled-spend counter the budget is checked against, for the period containing <paramref name="at"/>.</summary>
    public string SpentKey(DateTimeOffset at) => RedisKeys.BudgetSpent(Scope, Id, RedisKeys.BudgetPeriodKey(BudgetPeriod, at));

    /// <summary>For a credential: the spend of the tokens minted from it, which its budget also covers.</summary>
    public string? MintedSpentKey(DateTimeOffset at) =>
        Role == SubjectRole.Owner ? null : RedisKeys.BudgetSpent(RedisKeys.BudgetScopeMinted, Id, RedisKeys.BudgetPeriodKey(BudgetPeriod, at));
}

/// <summary>Names of the gateway's limit keys in Redis (only the gateway reads and writes them).</summary>
internal static class LimitKeys
{
    /// <summary><c>lgw:limit:{scope}:{id}</c>; the subject's keys append <c>:rpm:{minute}</c>, <c>:tpm:{minute}</c>, <c>:inflight</c>, <c>:reserved</c>.</summary>
    public static string Base(string scope, string id) => $"lgw:limit:{scope}:{id}";

    public static string InFlight(string @base) => @base + ":inflight";

    public static string Reserved(string @base) => @base + ":reserved";
}
