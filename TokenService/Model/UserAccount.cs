using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Model;

/// <summary>
/// A local account (table <c>users</c>). The password is held only as ASP.NET Core Identity's hash, and the hash never
/// leaves TokenService: <see cref="ToString"/> leaves it out, and API answers use <see cref="UserView"/>.
/// </summary>
public sealed record UserAccount
{
    public required string Id { get; init; }

    /// <summary>Lower-case (see <see cref="AccountRules.NormalizeEmail"/>); unique.</summary>
    public required string Email { get; init; }

    public string? Name { get; init; }
    public required string PasswordHash { get; init; }
    public required string Role { get; init; }
    public required string OrganizationId { get; init; }

    /// <summary>Limits over all of the account's credentials together (the account is the root of their lineage).</summary>
    public CredentialLimits Limits { get; init; } = new();

    public int FailedSignIns { get; init; }
    public DateTimeOffset? LockedUntil { get; init; }
    public DateTimeOffset? DisabledAt { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? LastSignInAt { get; init; }
    public int Version { get; init; } = 1;

    /// <summary>A new, time-ordered account id (<c>usr_</c> + UUIDv7 hex).</summary>
    public static string NewId() => "usr_" + Guid.CreateVersion7().ToString("N");

    public bool IsLockedAt(DateTimeOffset now) => LockedUntil is { } until && until > now;

    public CredentialOwner ToOwner() => new() { Type = "user", Id = Id, Name = Name ?? Email, OrganizationId = OrganizationId };

    // Records print every property; this one must never print the password hash (e.g. in a log or an assertion message).
    public override string ToString() => $"UserAccount {{ Id = {Id}, Email = {Email}, Role = {Role} }}";
}

public static class UserRoles
{
    public const string Viewer = "viewer";
    public const string Member = "member";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Viewer, Member, Admin];
}

/// <summary>How TokenService shows an account (the shared <see cref="UserView"/>, never the password hash).</summary>
public static class UserViews
{
    extension(UserView)
    {
        public static UserView From(UserAccount u, DateTimeOffset now) => new(
            u.Id, u.Email, u.Name, u.Role, u.OrganizationId,
            u.DisabledAt is not null ? "disabled" : u.IsLockedAt(now) ? "locked" : "active",
            u.Limits, u.CreatedAt, u.LastSignInAt, u.IsLockedAt(now) ? u.LockedUntil : null);
    }
}

/// <summary>The <c>user</c> object of a sign-in answer (seed 003's fields plus role and organization).</summary>
public sealed record SignedInUserView(string Id, string Email, string? Name, string Role, string OrganizationId)
{
    public static SignedInUserView From(UserAccount u) => new(u.Id, u.Email, u.Name, u.Role, u.OrganizationId);
}

/// <summary><c>POST /api/auth/login</c> and <c>POST /api/auth/register</c>.</summary>
public sealed record SignInResponse(string Token, string TokenType, DateTimeOffset ExpiresAt, SignedInUserView User);

public sealed record SigningKeyView(string Kid, string Algorithm, string Status, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt, DateTimeOffset? PublishedUntil);

/// <summary><c>POST /api/auth/register</c>.</summary>
public sealed class RegisterRequest
{
    public string? Email { get; init; }
    public string? Password { get; init; }
    public string? Name { get; init; }
    public string? InviteCode { get; init; }
}

/// <summary><c>POST /api/auth/login</c>.</summary>
public sealed class LoginRequest
{
    public string? Email { get; init; }
    public string? Password { get; init; }
}

/// <summary><c>POST /api/keys/generate</c> (seed 003).</summary>
public sealed class GenerateKeyRequest
{
    public string? Name { get; init; }
    public List<string>? Models { get; init; }

    /// <summary>Go duration; default: the key does not expire.</summary>
    public string? ExpiresIn { get; init; }
}

/// <summary><c>POST /admin/invites</c>.</summary>
public sealed class CreateInviteRequest
{
    /// <summary>When set, only this email can use the code.</summary>
    public string? Email { get; init; }
    public string? Role { get; init; }

    /// <summary>Go duration; default <c>Accounts:InviteTtl</c>.</summary>
    public string? Ttl { get; init; }
}

/// <summary><c>PATCH /admin/users/{id}</c>: each field changes only when present.</summary>
public sealed class UpdateUserRequest
{
    public string? Role { get; init; }

    /// <summary>true disables the account and revokes every credential it owns; false enables it again (keys stay revoked).</summary>
    public bool? Disabled { get; init; }

    /// <summary>The account's limits (replacing the previous ones); every credential it owns is re-projected with them.</summary>
    public CredentialLimits? Limits { get; init; }
}
