using LlmGateway.Contracts.Credentials;

namespace LlmGateway.AdminUi.Model;

// What the AdminUi asks TokenService's admin API (TokenService/Apis/AdminApi.cs); its answers are the shared
// Contracts/Admin types (CredentialView, ListPage, …). The kind, owner and limits types are from Contracts too.

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
