using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Identity;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Pipeline;

/// <summary>Outcome of authenticating a caller: the credential, or the error to answer with.</summary>
internal readonly record struct CallerAuthentication(CredentialProjection? Credential, int Status, string? ErrorType, string? Message)
{
    public bool Succeeded => Credential is not null;

    public static CallerAuthentication Success(CredentialProjection credential) => new(credential, 200, null, null);

    public static CallerAuthentication Failure(int status, string errorType, string message) => new(null, status, errorType, message);
}

/// <summary>
/// Hot-path steps 1–4 for data-plane routes: take the credential from the headers (the rule every service shares,
/// <see cref="CallerCredentialHeaders"/>), reject a malformed one without
/// I/O, resolve it (cache → Redis → TokenService), and check expiry, kind and the route allowlist. A JWT goes to
/// <see cref="JwtCallerValidator"/> instead (no lookup; validated results are cached briefly there) and becomes a
/// <see cref="CredentialKind.User"/> credential of the person, with the limits of <c>Identity:UserLimits</c>.
/// </summary>
internal sealed class CallerAuthenticator(
    CredentialResolver resolver, IOptions<ExternalKeyOptions> externalKeys, JwtCallerValidator jwt, IOptions<IdentityOptions> identity, TimeProvider time,
    DisabledAccounts disabledAccounts)
{
    private readonly List<ExternalKeyPattern> _externalPatterns = externalKeys.Value.Patterns;
    private readonly CredentialLimits _userLimits = identity.Value.UserLimits.ToLimits();

    private static readonly CallerAuthentication Missing = CallerAuthentication.Failure(401, AnthropicErrors.Authentication,
        "x-api-key header is required (or Authorization: Bearer).");

    private static readonly CallerAuthentication Invalid = CallerAuthentication.Failure(401, AnthropicErrors.Authentication,
        "invalid x-api-key");

    private static readonly CallerAuthentication Conflicting = CallerAuthentication.Failure(401, AnthropicErrors.Authentication,
        CallerCredentialHeaders.ConflictingMessage);

    private static readonly CallerAuthentication Expired = CallerAuthentication.Failure(401, AnthropicErrors.Authentication,
        "The credential has expired.");

    private static readonly CallerAuthentication Revoked = CallerAuthentication.Failure(401, AnthropicErrors.Authentication,
        "The credential has been revoked.");

    private static readonly CallerAuthentication Replaced = CallerAuthentication.Failure(401, AnthropicErrors.Authentication,
        "The credential was replaced by a refresh; use the token the refresh returned.");

    private static readonly CallerAuthentication Unavailable = CallerAuthentication.Failure(503, AnthropicErrors.Api,
        "Credentials cannot be verified right now; retry shortly.");

    private static readonly CallerAuthentication AdminKey = CallerAuthentication.Failure(403, AnthropicErrors.Permission,
        "Admin keys cannot call the model API; use an API key or token.");

    private static readonly CallerAuthentication AdminOnly = CallerAuthentication.Failure(403, AnthropicErrors.Permission,
        "This route needs an admin key.");

    private static readonly CallerAuthentication ViewerDenied = CallerAuthentication.Failure(403, AnthropicErrors.Permission,
        "The viewer role can read usage but cannot call the model API; it needs the member or admin role.");

    private static readonly CallerAuthentication AdminRoleOnly = CallerAuthentication.Failure(403, AnthropicErrors.Permission,
        "This route needs an admin key or the admin role.");

    private static readonly CallerAuthentication AccountDisabled = CallerAuthentication.Failure(401, AnthropicErrors.Authentication,
        "The account has been disabled by an administrator.");

    private static readonly CallerAuthentication RouteDenied = CallerAuthentication.Failure(403, AnthropicErrors.Permission,
        "This credential is not allowed to call this route.");

    public ValueTask<CallerAuthentication> AuthenticateAsync(HttpContext context) => AuthenticateAsync(context, admin: false);

    /// <summary>The gateway's own admin routes (<c>/admin/circuit-breaker</c>): only an admin key passes, as on TokenService's admin API.</summary>
    public ValueTask<CallerAuthentication> AuthenticateAdminAsync(HttpContext context) => AuthenticateAsync(context, admin: true);

    private ValueTask<CallerAuthentication> AuthenticateAsync(HttpContext context, bool admin)
    {
        CredentialHash hash;
        switch (CredentialHeaders.Read(context.Request.Headers, _externalPatterns, out var credential, out _))
        {
            case CredentialPresence.Missing:
                return ValueTask.FromResult(Missing);
            case CredentialPresence.Malformed:
                return ValueTask.FromResult(Invalid);
            case CredentialPresence.Conflicting:
                return ValueTask.FromResult(Conflicting);
            case CredentialPresence.Jwt:
                return AuthenticateJwtAsync(credential.ToString(), admin, context.RequestAborted);
            default:
                hash = CredentialHash.Compute(credential);
                break;
        }

        var lookup = resolver.ResolveAsync(hash, context.RequestAborted);
        return lookup.IsCompletedSuccessfully
            ? ValueTask.FromResult(Authorize(lookup.Result, context.Request.Path, admin))
            : AwaitAsync(lookup, context.Request.Path, admin);
    }

    private async ValueTask<CallerAuthentication> AuthenticateJwtAsync(string token, bool admin, CancellationToken cancellationToken)
    {
        var validation = await jwt.ValidateAsync(token, cancellationToken);
        if (validation.Caller is not { } caller)
        {
            // A token with a known failure says why; anything else (garbage, a shape that does not parse) stays plain "invalid".
            return validation.Rejection switch
            {
                JwtRejection.Invalid => Invalid,
                JwtRejection.Unavailable => Unavailable,
                _ => CallerAuthentication.Failure(validation.Status,
                    validation.Status == 403 ? AnthropicErrors.Permission : AnthropicErrors.Authentication, validation.Message),
            };
        }

        if (disabledAccounts.Contains(caller.UserId))
        {
            return AccountDisabled;
        }

        if (admin)
        {
            return caller.HasRole(IdentityRoles.Admin) ? CallerAuthentication.Success(UserCredential.For(caller, _userLimits)) : AdminRoleOnly;
        }

        return caller.HasRole(IdentityRoles.Member) ? CallerAuthentication.Success(UserCredential.For(caller, _userLimits)) : ViewerDenied;
    }

    private async ValueTask<CallerAuthentication> AwaitAsync(ValueTask<CredentialLookup> lookup, PathString path, bool admin) =>
        Authorize(await lookup, path, admin);

    private CallerAuthentication Authorize(CredentialLookup lookup, PathString path, bool admin)
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

        if (admin)
        {
            return credential.Kind == CredentialKind.AdminKey ? CallerAuthentication.Success(credential) : AdminOnly;
        }

        if (credential.Kind == CredentialKind.AdminKey)
        {
            return AdminKey;
        }

        if (!IsRouteAllowed(credential.Routes, path.Value ?? "/"))
        {
            return RouteDenied;
        }

        return CallerAuthentication.Success(credential);
    }

    private static bool IsRouteAllowed(IReadOnlyList<string> routes, string path)
    {
        if (routes.Count == 1 && routes[0] == "*")
        {
            return true;
        }

        // Paths compare without a trailing slash, so "/v1/messages/" cannot slip past an exact "/v1/messages" rule
        // by looking different while meaning the same to the upstream.
        return ModelPatterns.IsAllowed(routes, path.Length > 1 ? path.TrimEnd('/') : path);
    }
}
