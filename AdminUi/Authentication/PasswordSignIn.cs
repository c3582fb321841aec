using System.Security.Claims;
using LlmGateway.AdminUi.Clients;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace LlmGateway.AdminUi.Authentication;

/// <summary>
/// Signs a person in with their account's email and password (local accounts, <c>/api/auth/login</c>): TokenService
/// checks the password and the lockout and answers a JWT, which becomes the session's credential (presented as
/// <c>Authorization: Bearer</c>, so every API judges the person by their own role). The session ends no later than
/// the token does.
/// </summary>
public sealed partial class PasswordSignIn(AccountsClient accounts, ILogger<PasswordSignIn> logger)
{
    public const string Method = "password";

    public async Task<SignInOutcome> CheckAsync(string? email, string? password, CancellationToken ct)
    {
        email = email?.Trim();
        if (string.IsNullOrEmpty(email) || string.IsNullOrEmpty(password))
        {
            return SignInOutcome.Refused("Enter your email and password.");
        }

        if (email.Length > 320 || password.Length > 1024)
        {
            return SignInOutcome.Refused("That email or password is longer than any account accepts.");
        }

        var login = await accounts.LoginAsync(email, password, ct);
        if (login.Problem is { } problem)
        {
            LogRefused(logger, problem.Status ?? 0);
            return problem.Status switch
            {
                // TokenService's own words for a locked or disabled account; one sentence for everything else, so
                // the page never tells which emails have accounts.
                403 or 423 => SignInOutcome.Refused(problem.Message),
                400 or 401 or 404 => SignInOutcome.Refused("The email or password is not right."),
                _ => SignInOutcome.Failed(problem),
            };
        }

        var answer = login.Value!;
        var credential = new SessionCredential(answer.Token, CredentialPresentation.Bearer);
        LogSignedIn(logger, answer.User.Id, answer.User.Role);
        var claims = new List<Claim>
        {
            new(ClaimTypes.Name, answer.User.Email),
            new(ClaimTypes.NameIdentifier, answer.User.Id),
            new(ClaimTypes.Role, answer.User.Role),
            new(SessionClaims.Method, Method),
        };
        if (answer.ExpiresAt is { } expires)
        {
            claims.Add(new Claim(SessionClaims.ExpiresAt, expires.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (answer.User.OrganizationId is { Length: > 0 } organization)
        {
            claims.Add(new Claim(SessionClaims.Organization, organization));
        }

        claims.AddRange(credential.ToClaims());
        return SignInOutcome.SignedIn(new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme)),
            answer.ExpiresAt);
    }

    [LoggerMessage(2003, LogLevel.Information, "User {UserId} signed in with a password (role {Role})")]
    private static partial void LogSignedIn(ILogger logger, string userId, string role);

    [LoggerMessage(2004, LogLevel.Warning, "Password sign-in refused (API status {Status})")]
    private static partial void LogRefused(ILogger logger, int status);
}
