using System.Text.Json;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.AdminUi.Model;

// What TokenService's admin API answers (TokenService/Apis/AdminApi.cs owns these shapes; snake_case on the wire).
// The kind, owner and limits types are the shared ones from Contracts.

/// <summary>A credential as the admin API shows it; <see cref="Secret"/> only in the answer to its creation.</summary>
public sealed record Credential
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
    public IReadOnlyList<string> Models { get; init; } = [];
    public IReadOnlyList<string> Routes { get; init; } = [];
    public CredentialLimits Limits { get; init; } = new();
    public DateTimeOffset CreatedAt { get; init; }
    public string? CreatedBy { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    public string? RevocationReason { get; init; }
    public string? ReplacedBy { get; init; }
    public string? Secret { get; init; }

    public bool IsActive => Status == "active";

    /// <summary>Secrets never reach a log or a debugger display through this record.</summary>
    public override string ToString() => $"{Id} ({Hint})";
}

/// <summary>One page of a list (Anthropic's list shape): <see cref="LastId"/> is the <c>after_id</c> of the next page.</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Data, bool HasMore, string? FirstId, string? LastId);

/// <summary>The answer to a revoke.</summary>
public sealed record Revocation(Credential Credential, int RevokedDescendants);

/// <summary>The answer to an update: minted credentials no longer within the new scope are revoked with it.</summary>
public sealed record CredentialUpdate(Credential Credential, int RevokedDescendants);

/// <summary>A bootstrapped device (<c>GET /admin/devices</c>).</summary>
public sealed record Device(string DeviceId, string? AppVersion, DateTimeOffset FirstSeenAt, DateTimeOffset LastSeenAt, long BootstrapCount, long ActiveTokens);

/// <summary>One audit entry (<c>GET /admin/audit</c>).</summary>
public sealed record AuditEntry(long Id, DateTimeOffset At, string ActorId, string? ActorHint, string Action, string? Target, string? SourceAddress, JsonElement Details);

/// <summary>The filters of <c>GET /admin/credentials</c>; null means "any".</summary>
public sealed record CredentialQuery(
    string? Kind = null,
    string? Status = null,
    string? OwnerType = null,
    string? OwnerId = null,
    string? ParentId = null,
    string? DeviceId = null,
    int Limit = 50,
    string? AfterId = null);

/// <summary>The filters of <c>GET /admin/audit</c>; null means "any". The time window is [From, To).</summary>
public sealed record AuditQuery(
    string? Action = null,
    string? Target = null,
    string? ActorId = null,
    int Limit = 50,
    string? AfterId = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null);

/// <summary>
/// <c>POST /admin/credentials</c>. Fields left null are not sent, so TokenService applies its own defaults (every
/// model, every route, no limits, no expiry).
/// </summary>
public sealed record NewCredential
{
    public required string Kind { get; init; }
    public string? Name { get; init; }
    public required CredentialOwner Owner { get; init; }
    public IReadOnlyList<string>? Models { get; init; }
    public IReadOnlyList<string>? Routes { get; init; }
    public CredentialLimits? Limits { get; init; }
    public string? Ttl { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? AgentName { get; init; }
}

/// <summary>
/// <c>PATCH /admin/credentials/{id}</c>: only the parts marked as changed are sent (a present <c>null</c> clears a name
/// or removes an expiry, so "not sent" and "null" differ).
/// </summary>
public sealed record CredentialChanges
{
    public bool NameChanged { get; init; }
    public string? Name { get; init; }
    public IReadOnlyList<string>? Models { get; init; }
    public IReadOnlyList<string>? Routes { get; init; }
    public CredentialLimits? Limits { get; init; }
    public bool ExpiryChanged { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
}
