using LlmGateway.Contracts.Credentials;

namespace LlmGateway.AdminUi.Model;

// What TokenService's account admin API answers (TokenService/Apis/AccountsAdminApi.cs owns these shapes).

/// <summary>A local account as <c>GET /admin/users</c> shows it.</summary>
public sealed record UserAccount
{
    public required string Id { get; init; }
    public required string Email { get; init; }
    public string? Name { get; init; }
    public required string Role { get; init; }
    public required string OrganizationId { get; init; }

    /// <summary><c>active</c>, <c>locked</c> (too many failed sign-ins) or <c>disabled</c>.</summary>
    public required string Status { get; init; }

    public CredentialLimits Limits { get; init; } = new();
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? LastSignInAt { get; init; }
    public DateTimeOffset? LockedUntil { get; init; }
}

/// <summary><c>PATCH /admin/users/{id}</c>: the account after the change, and how many of its credentials a disable revoked.</summary>
public sealed record UserUpdate(UserAccount User, int RevokedCredentials);

/// <summary><c>POST /admin/invites</c>: the code is in this answer only.</summary>
public sealed record Invite(string Id, string Code, string? Email, string Role, DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"{Id} ({Role})";
}
