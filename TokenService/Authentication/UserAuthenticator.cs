using System.Diagnostics.CodeAnalysis;
using LlmGateway.Identity;
using LlmGateway.TokenService.Accounts;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Authentication;

/// <summary>
/// The signed-in account of a self-service request: the JWT from <c>/api/auth/login</c>, read by the shared header rule
/// (<see cref="CallerCredentialHeaders"/>; <c>Authorization: Bearer</c> in practice),
/// validated with this service's own keys, then the account read from PostgreSQL so that a role change or a disabled
/// account takes effect at once (not when the token expires).
/// </summary>
public sealed class UserAuthenticator(UserTokens tokens, CredentialStore store)
{
    public async Task<SignedInResult> AuthenticateAsync(HttpContext context)
    {
        if (!CallerCredential.TryRead(context.Request, out var token, out var headerError))
        {
            return new(null, CallerCredentialHeaders.Read(context.Request.Headers, out _) == CallerCredentialPresence.Missing
                ? ApiError.Authentication("Sign in first: send Authorization: Bearer <token> with the token from POST /api/auth/login.")
                : headerError);
        }

        if (!UserTokens.LooksLikeJwt(token))
        {
            return new(null, ApiError.Authentication(
                "These routes need the sign-in token from POST /api/auth/login, not an API key."));
        }

        var (userId, error) = await tokens.ValidateAsync(token, context.RequestAborted);
        if (userId is null)
        {
            return new(null, ApiError.Authentication(error!));
        }

        var user = await store.FindUserByIdAsync(userId, context.RequestAborted);
        if (user is null)
        {
            return new(null, ApiError.Authentication("The account of this sign-in token no longer exists."));
        }

        return user.DisabledAt is not null
            ? new(null, ApiError.Authentication("The account is disabled."))
            : new(new SignedInUser(user, CallerCredential.Address(context)), null);
    }
}

/// <summary>The account of the current request and the client's address: the actor of its audit entries.</summary>
public sealed record SignedInUser(UserAccount Account, string Address);

public readonly record struct SignedInResult(SignedInUser? User, ApiError? Error)
{
    public bool TryGet([NotNullWhen(true)] out SignedInUser? user, [NotNullWhen(false)] out ApiError? error)
    {
        user = User;
        error = Error;
        return user is not null;
    }
}
