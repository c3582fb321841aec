namespace LlmGateway.Identity;

/// <summary>A person, from a validated JWT of a configured issuer.</summary>
/// <param name="IssuerName">The issuer's configuration name (<c>Identity:Issuers:{name}</c>).</param>
/// <param name="Subject">The token's user claim (<c>sub</c> by default).</param>
/// <param name="UserId">The person's stable id: <c>oidc:{issuer}:{sub}</c>, or <c>sub</c> itself (<c>UseSubjectAsUserId</c>).</param>
public sealed record JwtCaller(
    string IssuerName,
    string Subject,
    string UserId,
    string? OrganizationId,
    string Role,
    string? Email,
    string? Name,
    DateTimeOffset ExpiresAt)
{
    public bool HasRole(string needed) => IdentityRoles.Includes(Role, needed);

    /// <summary>What logs and audit entries show instead of the token (never the token itself).</summary>
    public string Hint => $"jwt:{IssuerName}:{Subject}";
}

/// <summary>Why a JWT was refused. <see cref="Invalid"/> is everything that has no reason worth telling.</summary>
public enum JwtRejection
{
    None,
    Invalid,
    Expired,
    NotYetValid,
    WrongAudience,
    WrongIssuer,
    BadSignature,
    UnknownKey,
    AlgNone,
    NoSubject,
    RoleNotAllowed,
    /// <summary>The issuer's keys cannot be read right now (metadata or JWKS unreachable).</summary>
    Unavailable,
}

/// <summary>The outcome of validating a JWT: the caller, or the reason it was refused and a message that says so.</summary>
public readonly record struct JwtValidation(JwtCaller? Caller, JwtRejection Rejection, string Message)
{
    public bool Succeeded => Caller is not null;

    /// <summary>401 for a token that does not prove who is calling, 403 for a role this place does not admit, 503 when keys cannot be read.</summary>
    public int Status => Rejection switch
    {
        JwtRejection.None => 200,
        JwtRejection.RoleNotAllowed => 403,
        JwtRejection.Unavailable => 503,
        _ => 401,
    };

    public static JwtValidation Success(JwtCaller caller) => new(caller, JwtRejection.None, "");

    public static JwtValidation Refused(JwtRejection rejection, string? message = null) => new(null, rejection, message ?? Describe(rejection));

    public static string Describe(JwtRejection rejection) => rejection switch
    {
        JwtRejection.Expired => "The token has expired.",
        JwtRejection.NotYetValid => "The token is not valid yet (nbf is in the future).",
        JwtRejection.WrongAudience => "The token was issued for another audience.",
        JwtRejection.WrongIssuer => "The token's issuer is not accepted here.",
        JwtRejection.BadSignature => "The token's signature does not verify.",
        JwtRejection.UnknownKey => "The token is signed with a key its issuer does not publish.",
        JwtRejection.AlgNone => "Unsigned tokens (alg: none) are not accepted.",
        JwtRejection.NoSubject => "The token names no user.",
        JwtRejection.RoleNotAllowed => "The token's role is not allowed here.",
        JwtRejection.Unavailable => "The token's issuer cannot be reached to read its signing keys; retry shortly.",
        _ => "invalid token",
    };
}
