using System.Text.Json;
using System.Text.Json.Serialization;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Infrastructure;

namespace LlmGateway.TokenService.Model;

// Response bodies. Names are snake_case on the wire; times are RFC 3339 in UTC.

/// <summary><c>POST /v1/tokens</c>: creddy's <c>{"token","expires_at","ttl"}</c> plus the token's id (to revoke it).</summary>
public sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt, string Ttl, string Id);

/// <summary><c>POST /bootstrap</c> and <c>POST /refresh</c> (seed 002's shape).</summary>
public sealed record DeviceTokenResponse(string WrapperToken, string ProxyBaseUrl, DateTimeOffset ExpiresAt);

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

    public static CredentialView From(Credential c, DateTimeOffset now) => new()
    {
        Id = c.Id,
        Kind = c.Kind,
        Name = c.Name,
        Hint = c.Hint,
        Status = StatusName(c.StatusAt(now)),
        External = c.External,
        Owner = c.Owner,
        ParentId = c.ParentId,
        AgentName = c.AgentName,
        DeviceId = c.DeviceId,
        AppVersion = c.AppVersion,
        Models = c.Scope.Models,
        Routes = c.Scope.Routes,
        Limits = c.Scope.Limits,
        CreatedAt = c.CreatedAt,
        CreatedBy = c.CreatedBy,
        ExpiresAt = c.ExpiresAt,
        RevokedAt = c.RevokedAt,
        RevocationReason = c.RevocationReason,
        ReplacedBy = c.ReplacedBy,
        Ancestors = c.Ancestors is { Count: > 0 } ? c.Ancestors : null,
    };

    public static string StatusName(CredentialStatus status) => status switch
    {
        CredentialStatus.Active => "active",
        CredentialStatus.Revoked => "revoked",
        _ => "expired",
    };
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

    public static RevocationPropagation Of(RevokeOutcome outcome) => outcome switch
    {
        { RevokedNow: false } => new(true, 0, 0, "The credential was already revoked."),
        { GatewaysNotified: { } notified } => new(true, notified, 0, $"Revocation broadcast to {notified} gateway instance(s); in force now."),
        _ => new(false, null, UnconfirmedWindowSeconds,
            "Revoked in the database, but Redis is unreachable so no gateway was told directly. Gateways re-validate cached "
            + $"credentials with TokenService while their revocation channel is down: it stops working within {UnconfirmedWindowSeconds} s."),
    };
}

/// <summary>The answer to an update; minted credentials no longer within the new scope are revoked with it.</summary>
public sealed record UpdateView(CredentialView Credential, int RevokedDescendants);

/// <summary><c>GET /admin/credentials/{id}/limits</c>.</summary>
public sealed record CredentialLimitsView(string Id, string Status, IReadOnlyList<string> Models, IReadOnlyList<string> Routes, CredentialLimits Limits, DateTimeOffset? ExpiresAt, string? ParentId);

public sealed record DeviceView(string DeviceId, string? AppVersion, DateTimeOffset FirstSeenAt, DateTimeOffset LastSeenAt, long BootstrapCount, long ActiveTokens);

public sealed record AuditEntryView(long Id, DateTimeOffset At, string ActorId, string? ActorHint, string Action, string? Target, string? SourceAddress, JsonElement Details);

/// <summary>One page of a list, Anthropic's list shape: pass <c>last_id</c> as <c>after_id</c> for the next page.</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Data, bool HasMore, string? FirstId, string? LastId);

public sealed record ReprojectionView(int Projected, int Removed, long DurationMs);
