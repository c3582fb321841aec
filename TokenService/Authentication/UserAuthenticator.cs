using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
using LlmGateway.TokenService.Accounts;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Authentication;

/// <summary>
/// The signed-in account of a self-service request (<c>/api/keys/*</c>, <c>/api/auth/me</c>), as the caller scheme
/// <see cref="Scheme"/>: the JWT from <c>/api/auth/login</c>, read by the shared header rule
/// (<see cref="CallerCredentialHeaders"/>; <c>Authorization: Bearer</c> in practice), validated with this service's own
/// keys, then the account read from PostgreSQL so that a role change or a disabled account takes effect at once (not
/// when the token expires). The account is left in <c>HttpContext.Features</c> (<see cref="SignedInUser.Of"/>).
/// </summary>
public sealed class UserAuthenticator(UserTokens tokens, CredentialStore store) : ICallerCredentialAuthenticator
{
    /// <summary>The scheme, and the policy over it that the self-service routes require.</summary>
    public const string Scheme = "account";

    private static readonly CallerRefusal SignInFirst =
        CallerRefusal.Unauthenticated("Sign in first: send Authorization: Bearer <token> with the token from POST /api/auth/login.");

    public CallerRefusal Missing => SignInFirst;

    public ValueTask<CallerAuthenticationOutcome> AuthenticateRequestAsync(HttpContext context)
    {
        if (CallerCredential.TryRead(context.Request, out var token, out var headerError))
        {
            return AuthenticateAsync(context, token, context.RequestAborted);
        }

        return ValueTask.FromResult(CallerCredentialHeaders.Read(context.Request.Headers, out _) == CallerCredentialPresence.Missing
            ? CallerAuthenticationOutcome.NoCredential
            : CallerAuthenticationOutcome.Refused(headerError!.ToRefusal()));
    }

    public async ValueTask<CallerAuthenticationOutcome> AuthenticateAsync(HttpContext context, string token, CancellationToken cancellationToken)
    {
        if (!UserTokens.LooksLikeJwt(token))
        {
            return Refused("These routes need the sign-in token from POST /api/auth/login, not an API key.");
        }

        var (userId, error) = await tokens.ValidateAsync(token, cancellationToken);
        if (userId is null)
        {
            return Refused(error!);
        }

        var user = await store.FindUserByIdAsync(userId, cancellationToken);
        if (user is null)
        {
            return Refused("The account of this sign-in token no longer exists.");
        }

        if (user.DisabledAt is not null)
        {
            return Refused("The account is disabled.");
        }

        context.Features.Set(new SignedInUser(user, CallerCredential.Address(context)));
        return CallerAuthenticationOutcome.Success();
    }

    private static CallerAuthenticationOutcome Refused(string message) => CallerAuthenticationOutcome.Refused(CallerRefusal.Unauthenticated(message));
}

/// <summary>The account of the current request and the client's address: the actor of its audit entries.</summary>
public sealed record SignedInUser(UserAccount Account, string Address)
{
    public static SignedInUser Of(HttpContext context) =>
        context.Features.Get<SignedInUser>() ?? throw new InvalidOperationException("The route's policy did not run the account scheme.");
}
