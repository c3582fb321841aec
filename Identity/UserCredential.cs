using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Identity;

/// <summary>
/// A JWT caller as a credential owner like any other: the projection the services' limits, allowlists and usage
/// attribution read, synthesized per request (never stored). Its id is the person's, so per-credential limits are
/// per-person limits, whichever token they present.
/// </summary>
public static class UserCredential
{
    public const string OwnerType = "user";

    public static CredentialProjection For(JwtCaller caller, CredentialLimits limits) => new()
    {
        Id = caller.UserId,
        Kind = CredentialKind.User,
        Hint = caller.Hint,
        Owner = new CredentialOwner
        {
            Type = OwnerType,
            Id = caller.UserId,
            Name = caller.Name ?? caller.Email,
            OrganizationId = caller.OrganizationId,
        },
        Limits = limits,
        ExpiresAt = caller.ExpiresAt,
    };
}
