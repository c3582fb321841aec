using LlmGateway.Contracts.Credentials;
using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Model;
using Microsoft.AspNetCore.Authorization;

namespace LlmGateway.TokenService.Authentication;

/// <summary>
/// The admin API's policy (<see cref="Policy"/>) over the caller scheme: the caller must present an admin key, or a JWT
/// whose role is admin. Anyone else is forbidden with a message that names what they hold.
/// </summary>
public static class AdminAuthorization
{
    public const string Policy = "admin";

    /// <summary><c>POST /v1/tokens</c>: any active credential, or a JWT whose role is member or admin.</summary>
    public const string MintPolicy = "tokens:mint";

    public static void Require(AuthorizationPolicyBuilder policy) => policy.RequireAssertion(Allows);

    public static void RequireMint(AuthorizationPolicyBuilder policy) => policy.RequireAssertion(context =>
    {
        if (context.Resource is not HttpContext http || http.Features.Get<AuthenticatedCaller>() is not { } caller)
        {
            return false;
        }

        if (caller.Person is { } person && !person.HasRole(IdentityRoles.Member))
        {
            http.Features.Set(CallerRefusal.Forbidden(
                $"Minting agent tokens needs the member or admin role; {person.Hint} has the {person.Role} role."));
            return false;
        }

        return true;
    });

    private static bool Allows(AuthorizationHandlerContext context)
    {
        if (context.Resource is not HttpContext http || http.Features.Get<AuthenticatedCaller>() is not { } result)
        {
            return false;
        }

        var refusal = result.Person switch
        {
            { } person when !person.HasRole(IdentityRoles.Admin) =>
                $"The admin API needs an admin key or the admin role; {person.Hint} has the {person.Role} role.",
            null when result.Credential.Kind != CredentialKind.AdminKey => $"The admin API needs an admin key; {result.Credential.Hint} is not one.",
            _ => null,
        };
        if (refusal is not null)
        {
            http.Features.Set(CallerRefusal.Forbidden(refusal));
            return false;
        }

        http.Features.Set(new AdminCaller(result.Credential, CallerCredential.Address(http)));
        return true;
    }
}

/// <summary>The caller scheme's challenges and forbids, in TokenService's error shape.</summary>
public sealed class ApiErrorWriter : ICallerErrorWriter
{
    public Task WriteAsync(HttpContext context, CallerRefusal refusal) => (refusal.Status switch
    {
        StatusCodes.Status403Forbidden => ApiError.Permission(refusal.Message),
        StatusCodes.Status503ServiceUnavailable => ApiError.Unavailable(refusal.Message, refusal.RetryAfter ?? TimeSpan.FromSeconds(5)),
        _ => ApiError.Authentication(refusal.Message),
    }).ExecuteAsync(context);
}

/// <summary>The authenticated admin of the current request: the actor of every audit entry.</summary>
public sealed record AdminCaller(Credential Credential, string Address)
{
    public static AdminCaller Of(HttpContext context) => context.Features.Get<AdminCaller>() ?? throw new InvalidOperationException("The admin API's policy did not run.");
}
