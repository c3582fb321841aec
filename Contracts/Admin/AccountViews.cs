using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Contracts.Admin;

// Answers of TokenService's account admin API (TokenService/Apis/AccountsAdminApi.cs), read by the AdminUi.

/// <summary>An account as APIs show it (never the password hash); <c>status</c> is <c>active</c>, <c>locked</c> or <c>disabled</c>.</summary>
public sealed record UserView(
    string Id,
    string Email,
    string? Name,
    string Role,
    string OrganizationId,
    string Status,
    CredentialLimits Limits,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastSignInAt,
    DateTimeOffset? LockedUntil);

/// <summary><c>PATCH /admin/users/{id}</c>: the account after the change, and how many of its credentials a disable revoked.</summary>
public sealed record UserUpdateView(UserView User, int RevokedCredentials);

/// <summary><c>POST /admin/invites</c>: the code is shown once.</summary>
public sealed record InviteView(string Id, string Code, string? Email, string Role, DateTimeOffset ExpiresAt);
