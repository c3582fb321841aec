using System.Text.Json;
using System.Text.Json.Serialization;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Contracts.Admin;

// Answers of TokenService's admin and keys APIs (TokenService/Apis/AdminApi.cs, KeysApi.cs), written by TokenService
// and read by the AdminUi. Names are snake_case on the wire; times are RFC 3339 in UTC.

/// <summary>A credential as the admin API shows it; <see cref="Secret"/> only in the answer to its creation.</summary>
public sealed record CredentialView
{
    public required string Id { get; init; }
    public required CredentialKind Kind { get; init; }
    public string? Name { get; init; }
    public required string Hint { get; init; }
    public required string Status { get; init; }
    public bool External { get; init; }
    public required CredentialOwner Owner { get; init; }
    public string? ParentId { get; init; }
    public string? AgentName { get; init; }
    public string? DeviceId { get; init; }
    public string? AppVersion { get; init; }
    public required IReadOnlyList<string> Models { get; init; }
    public required IReadOnlyList<string> Routes { get; init; }
    public required CredentialLimits Limits { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string? CreatedBy { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    public string? RevocationReason { get; init; }
    public string? ReplacedBy { get; init; }

    /// <summary>What else bounds it, nearest first: the credentials it was minted from and the account that owns it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CredentialAncestor>? Ancestors { get; init; }

    /// <summary>The secret, in the create response only (null for a registered external key, which the admin already has).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Secret { get; init; }

    [JsonIgnore]
    public bool IsActive => Status == "active";

    /// <summary>Secrets never reach a log or a debugger display through this record.</summary>
    public override string ToString() => $"{Id} ({Hint})";
}

/// <summary>The answer to a revoke: the credential, and how many credentials minted from it were revoked with it.</summary>
public sealed record RevocationView(CredentialView Credential, int RevokedDescendants, RevocationPropagation Propagation);

/// <summary>
/// Whether every Gateway has been told. <c>confirmed</c> false means the broadcast could not be sent (Redis
/// unreachable): each Gateway then re-validates what it has cached with TokenService every few seconds while its own
/// revocation channel is down, so the credential stops working within <c>effective_within_seconds</c>.
/// </summary>
public sealed record RevocationPropagation(bool Confirmed, long? GatewaysNotified, int? EffectiveWithinSeconds, string Detail)
{
    /// <summary>The Gateway's default <c>Gateway:Credentials:UnconfirmedTtl</c> plus one introspection round trip.</summary>
    public const int UnconfirmedWindowSeconds = 5;
}

/// <summary>The answer to an update; minted credentials no longer within the new scope are revoked with it.</summary>
public sealed record UpdateView(CredentialView Credential, int RevokedDescendants);

public sealed record DeviceView(string DeviceId, string? AppVersion, DateTimeOffset FirstSeenAt, DateTimeOffset LastSeenAt, long BootstrapCount, long ActiveTokens);

public sealed record AuditEntryView(long Id, DateTimeOffset At, string ActorId, string? ActorHint, string Action, string? Target, string? SourceAddress, JsonElement Details);

/// <summary>One page of a list, Anthropic's list shape: pass <c>last_id</c> as <c>after_id</c> for the next page.</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Data, bool HasMore, string? FirstId, string? LastId);
