using System.Security.Claims;
using LlmGateway.AdminUi.Clients;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace LlmGateway.AdminUi.Authentication;

/// <summary>
/// Signs a person in with the admin key they typed: the key is valid when TokenService, asked through the gateway with
/// that key, lets it read the admin API. Nothing is decided here that TokenService decides (format, revocation,
/// expiry, kind): its answer is the verdict. Another sign-in method (local users, OIDC) is another class that ends
/// the same way: a principal carrying a <see cref="SessionCredential"/>, signed in to the cookie scheme.
/// </summary>
public sealed partial class AdminKeySignIn(TokenServiceClient tokenService, ILogger<AdminKeySignIn> logger)
{
    public const string Method = "admin_key";

    /// <summary>Longer than any credential or JWT the APIs accept: refused without a call.</summary>
    public const int MaxKeyLength = 8192;

    public async Task<SignInOutcome> CheckAsync(string? typedKey, CancellationToken ct)
    {
        var key = typedKey?.Trim();
        if (string.IsNullOrEmpty(key))
        {
            return SignInOutcome.Refused("Enter your admin key.");
        }

        if (key.Length > MaxKeyLength)
        {
            return SignInOutcome.Refused("That is not an admin key: it is far longer than any key the gateway issues.");
        }

        var credential = new SessionCredential(key, CredentialPresentation.ApiKey);
        var check = await tokenService.CheckAdminAccessAsync(credential, ct);
        if (check.Problem is { } problem)
        {
            LogRefused(logger, credential.Hint, problem.Status ?? 0);
            return problem.Status switch
            {
                401 => SignInOutcome.Refused("This key was not accepted: it is unknown, revoked or expired."),
                403 => SignInOutcome.Refused("This key is valid but it is not an admin key, so it cannot use the admin UI."),
                _ => SignInOutcome.Failed(problem),
            };
        }

        LogSignedIn(logger, credential.Hint);
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, credential.Hint),
                new Claim(SessionClaims.Method, Method),
                // An admin key may do everything: the admin role, as a signed-in administrator has.
                new Claim(ClaimTypes.Role, SessionRoles.Admin),
                .. credential.ToClaims(),
            ],
            CookieAuthenticationDefaults.AuthenticationScheme);
        return SignInOutcome.SignedIn(new ClaimsPrincipal(identity));
    }

    [LoggerMessage(2001, LogLevel.Information, "Admin signed in with key {Hint}")]
    private static partial void LogSignedIn(ILogger logger, string hint);

    [LoggerMessage(2002, LogLevel.Warning, "Sign-in with key {Hint} refused (API status {Status})")]
    private static partial void LogRefused(ILogger logger, string hint, int status);
}

/// <summary>
/// What a sign-in attempt came to: a principal (and when its credential stops being valid, if it ever does), a
/// refusal to show, or an API problem to show.
/// </summary>
public sealed record SignInOutcome(ClaimsPrincipal? Principal, string? Refusal, ApiProblem? Problem, DateTimeOffset? CredentialExpires = null)
{
    public static SignInOutcome SignedIn(ClaimsPrincipal principal, DateTimeOffset? credentialExpires = null) =>
        new(principal, null, null, credentialExpires);

    public static SignInOutcome Refused(string message) => new(null, message, null);

    public static SignInOutcome Failed(ApiProblem problem) => new(null, null, problem);
}
