using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Model;

/// <summary>
/// A credential as TokenService stores it (table <c>credentials</c>). The secret itself is never held here: only its
/// <see cref="Hash"/> (SHA-256, the lookup key) and its <see cref="Hint"/> (<c>prefix…last4</c>).
/// </summary>
public sealed record Credential
{
    public required string Id { get; init; }
    public required string Hash { get; init; }
    public required CredentialKind Kind { get; init; }
    public required string Hint { get; init; }
    public string? Name { get; init; }

    /// <summary>True for a key issued by another system and registered by an admin (see <see cref="ExternalKeyPattern"/>).</summary>
    public bool External { get; init; }

    public required CredentialOwner Owner { get; init; }

    /// <summary>The credential this one was minted from; its scope and expiry bound this one's.</summary>
    public string? ParentId { get; init; }

    /// <summary>The lineage: the parent, its parent, …, each with its limits (read with the credential; null when not minted).</summary>
    public IReadOnlyList<CredentialAncestor>? Ancestors { get; init; }

    public string? AgentName { get; init; }
    public string? DeviceId { get; init; }
    public string? AppVersion { get; init; }
    public required CredentialScope Scope { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Who issued it: an admin credential id, the parent's id, <c>bootstrap</c>, <c>refresh</c> or <c>configuration</c>.</summary>
    public string? CreatedBy { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    public string? RevokedBy { get; init; }
    public string? RevocationReason { get; init; }

    /// <summary>For a refreshed device token: the token that replaced it.</summary>
    public string? ReplacedBy { get; init; }

    /// <summary>Bumped by every stored change; an update based on an older version is refused (optimistic concurrency).</summary>
    public int Version { get; init; } = 1;

    /// <summary>The upstream OAuth account assigned to this key, its parent, or its organization (read with the credential).</summary>
    public string? UpstreamAccount { get; init; }

    /// <summary>A new, time-ordered credential id (<c>cred_</c> + UUIDv7 hex): lists sort by creation without a timestamp index.</summary>
    public static string NewId() => "cred_" + Guid.CreateVersion7().ToString("N");

    public CredentialStatus StatusAt(DateTimeOffset now) =>
        RevokedAt is not null ? CredentialStatus.Revoked
        : ExpiresAt is { } expiry && expiry <= now ? CredentialStatus.Expired
        : CredentialStatus.Active;

    public CredentialProjection ToProjection() => new()
    {
        Id = Id,
        Kind = Kind,
        Hint = Hint,
        Owner = Owner,
        AgentName = AgentName,
        DeviceId = DeviceId,
        Models = Scope.Models,
        Routes = Scope.Routes,
        Limits = Scope.Limits,
        ExpiresAt = ExpiresAt,
        ParentId = ParentId,
        Ancestors = Ancestors is { Count: > 0 } ? Ancestors : null,
        UpstreamAccount = UpstreamAccount,
    };
}

public enum CredentialStatus
{
    Active,
    Revoked,
    Expired,
}

/// <summary>What a credential may do: models and routes (allowlists with trailing-<c>*</c> wildcards) and its limits.</summary>
public sealed record CredentialScope(IReadOnlyList<string> Models, IReadOnlyList<string> Routes, CredentialLimits Limits)
{
    public static readonly IReadOnlyList<string> Everything = ["*"];

    /// <summary>No restriction at all: every model, every route, no limits of its own (the admin keys' scope).</summary>
    public static CredentialScope Unrestricted { get; } = new(Everything, Everything, new CredentialLimits());
}
