using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Identity;
using LlmGateway.Identity.Authentication;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Credentials;

/// <summary>
/// The gateway's step of the caller scheme (hot-path steps 1–3): take the credential from the headers (the rule every
/// service shares, <see cref="CallerCredentialHeaders"/>) without copying it, reject a malformed one without I/O,
/// resolve it (cache → Redis → TokenService) and check it has not expired. A JWT goes to <see cref="JwtCallerValidator"/>
/// instead (no lookup; validated results are cached briefly there) and becomes a <see cref="CredentialKind.User"/>
/// credential of the person, with the limits of <c>Identity:UserLimits</c>. The caller is left in
/// <c>HttpContext.Features</c> (<see cref="CredentialOf"/>; a person's <see cref="JwtCaller"/> beside it); what it may
/// call is the route's policy (<see cref="CallerPolicies"/>).
/// </summary>
internal sealed class GatewayCallerAuthenticator(
    CredentialResolver resolver, IOptions<ExternalKeyOptions> externalKeys, JwtCallerValidator jwt, IOptions<IdentityOptions> identity, TimeProvider time,
    DisabledAccounts disabledAccounts) : ICallerCredentialAuthenticator
{
    private static readonly CallerRefusal MissingRefusal = CallerRefusal.Unauthenticated("x-api-key header is required (or Authorization: Bearer).");

    private static readonly CallerAuthenticationOutcome Authenticated = CallerAuthenticationOutcome.Success();

    private static readonly CallerAuthenticationOutcome Invalid = Refused("invalid x-api-key");

    private static readonly CallerAuthenticationOutcome Conflicting = Refused(CallerCredentialHeaders.ConflictingMessage);

    private static readonly CallerAuthenticationOutcome Expired = Refused("The credential has expired.");

    private static readonly CallerAuthenticationOutcome Revoked = Refused("The credential has been revoked.");

    private static readonly CallerAuthenticationOutcome Replaced = Refused("The credential was replaced by a refresh; use the token the refresh returned.");

    private static readonly CallerAuthenticationOutcome AccountDisabled = Refused("The account has been disabled by an administrator.");

    private static readonly CallerAuthenticationOutcome Unavailable =
        CallerAuthenticationOutcome.Refused(CallerRefusal.Unavailable("Credentials cannot be verified right now; retry shortly."));

    private readonly List<ExternalKeyPattern> _externalPatterns = externalKeys.Value.Patterns;
    private readonly CredentialLimits _userLimits = identity.Value.UserLimits.ToLimits();

    public CallerRefusal Missing => MissingRefusal;

    /// <summary>The authenticated caller of a route on a caller policy.</summary>
    public static CredentialProjection CredentialOf(HttpContext context) =>
        context.Features.Get<CredentialProjection>() ?? throw new InvalidOperationException("The route's caller policy did not run.");

    public ValueTask<CallerAuthenticationOutcome> AuthenticateRequestAsync(HttpContext context)
    {
        var presence = CredentialHeaders.Read(context.Request.Headers, _externalPatterns, out var credential, out _);
        return presence == CredentialPresence.Missing
            ? ValueTask.FromResult(CallerAuthenticationOutcome.NoCredential)
            : AuthenticateAsync(context, presence, credential);
    }

    public ValueTask<CallerAuthenticationOutcome> AuthenticateAsync(HttpContext context, string credential, CancellationToken cancellationToken) =>
        AuthenticateAsync(context, CredentialHeaders.Classify(credential, _externalPatterns, out _), credential);

    private ValueTask<CallerAuthenticationOutcome> AuthenticateAsync(HttpContext context, CredentialPresence presence, ReadOnlySpan<char> credential)
    {
        switch (presence)
        {
            case CredentialPresence.Malformed:
                return ValueTask.FromResult(Invalid);
            case CredentialPresence.Conflicting:
                return ValueTask.FromResult(Conflicting);
            case CredentialPresence.Jwt:
                return AuthenticateJwtAsync(context, credential.ToString());
        }

        var lookup = resolver.ResolveAsync(CredentialHash.Compute(credential), context.RequestAborted);
        return lookup.IsCompletedSuccessfully
            ? ValueTask.FromResult(Accept(context, lookup.Result))
            : AwaitAsync(context, lookup);
    }

    private async ValueTask<CallerAuthenticationOutcome> AuthenticateJwtAsync(HttpContext context, string token)
    {
        var validation = await jwt.ValidateAsync(token, context.RequestAborted);
        if (validation.Caller is not { } caller)
        {
            // A token with a known failure says why; anything else (garbage, a shape that does not parse) stays plain "invalid".
            return validation.Rejection switch
            {
                JwtRejection.Invalid => Invalid,
                JwtRejection.Unavailable => Unavailable,
                _ => CallerAuthenticationOutcome.Refused(validation.Status == StatusCodes.Status403Forbidden
                    ? CallerRefusal.Forbidden(validation.Message)
                    : new CallerRefusal(validation.Status, AnthropicErrors.Authentication, validation.Message)),
            };
        }

        if (disabledAccounts.Contains(caller.UserId))
        {
            return AccountDisabled;
        }

        context.Features.Set(caller);
        context.Features.Set(UserCredential.For(caller, _userLimits));
        return Authenticated;
    }

    private async ValueTask<CallerAuthenticationOutcome> AwaitAsync(HttpContext context, ValueTask<CredentialLookup> lookup) =>
        Accept(context, await lookup);

    private CallerAuthenticationOutcome Accept(HttpContext context, CredentialLookup lookup)
    {
        if (lookup.Status == CredentialLookupStatus.Unavailable)
        {
            return Unavailable;
        }

        if (lookup.Projection is not { } credential)
        {
            // A credential TokenService knows says why it is refused; an unknown one stays a plain "invalid".
            return lookup.Refusal switch
            {
                CredentialRefusal.Revoked => Revoked,
                CredentialRefusal.Expired => Expired,
                CredentialRefusal.Replaced => Replaced,
                _ => Invalid,
            };
        }

        if (credential.IsExpired(time.GetUtcNow()))
        {
            return Expired;
        }

        context.Features.Set(credential);
        return Authenticated;
    }

    private static CallerAuthenticationOutcome Refused(string message) => CallerAuthenticationOutcome.Refused(CallerRefusal.Unauthenticated(message));
}
