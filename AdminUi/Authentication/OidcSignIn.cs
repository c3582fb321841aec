using System.Security.Claims;
using LlmGateway.AdminUi.Options;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace LlmGateway.AdminUi.Authentication;

/// <summary>
/// Single sign-on with an external OIDC issuer (<see cref="OidcSignInOptions"/>): ASP.NET Core's OpenID Connect handler
/// runs the authorization code flow with PKCE and validates the id token; this class turns the result into a session
/// like the other sign-in methods: the access token is the session's Bearer credential (every API judges the person by
/// it), the role and email come from the id token, and the session ends when the access token does.
/// </summary>
public static partial class OidcSignIn
{
    public const string Scheme = "oidc";
    public const string Method = "oidc";

    public static void Configure(OpenIdConnectOptions options, OidcSignInOptions settings)
    {
        options.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        options.Authority = settings.Authority;
        options.ClientId = settings.ClientId;
        options.ClientSecret = settings.ClientSecret;
        options.RequireHttpsMetadata = settings.RequireHttpsMetadata;
        options.ResponseType = OpenIdConnectResponseType.Code;
        // The code comes back on the query of a top-level GET: the UI's CSP allows no cross-site form posts.
        options.ResponseMode = OpenIdConnectResponseMode.Query;
        options.UsePkce = true;
        options.SaveTokens = false;
        options.MapInboundClaims = false;
        options.GetClaimsFromUserInfoEndpoint = false;
        options.CallbackPath = "/signin-oidc";
        options.Scope.Clear();
        options.Scope.Add("openid");
        foreach (var scope in settings.Scopes)
        {
            options.Scope.Add(scope);
        }

        // Over plain http (development, tests) the default SameSite=None cookies would need Secure: Lax suffices for a
        // top-level GET callback.
        options.CorrelationCookie.SameSite = SameSiteMode.Lax;
        options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.NonceCookie.SameSite = SameSiteMode.Lax;
        options.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.Events.OnTokenValidated = context =>
        {
            var accessToken = context.TokenEndpointResponse?.AccessToken;
            var idToken = context.SecurityToken;
            if (string.IsNullOrEmpty(accessToken) || context.Principal is not { } principal)
            {
                context.Fail("The issuer answered no access token.");
                return Task.CompletedTask;
            }

            var subject = principal.FindFirst("sub")?.Value ?? "unknown";
            var email = principal.FindFirst(settings.EmailClaim)?.Value ?? subject;
            var role = principal.FindFirst(settings.RoleClaim)?.Value is { Length: > 0 } claimed ? claimed : settings.DefaultRole;
            var credential = new SessionCredential(accessToken, CredentialPresentation.Bearer);
            var claims = new List<Claim>
            {
                new(ClaimTypes.Name, email),
                new(ClaimTypes.NameIdentifier, subject),
                new(ClaimTypes.Role, role),
                new(SessionClaims.Method, Method),
            };
            claims.AddRange(credential.ToClaims());
            context.Principal = new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme));
            if (context.TokenEndpointResponse?.ExpiresIn is { Length: > 0 } expiresIn && int.TryParse(expiresIn, out var seconds))
            {
                // The session never outlives the credential it presents.
                var expires = DateTimeOffset.UtcNow.AddSeconds(seconds);
                if (context.Properties!.ExpiresUtc is null || expires < context.Properties.ExpiresUtc)
                {
                    context.Properties.ExpiresUtc = expires;
                }
            }
            else if (idToken?.ValidTo is { } validTo && validTo > DateTime.UnixEpoch)
            {
                context.Properties!.ExpiresUtc = new DateTimeOffset(validTo, TimeSpan.Zero);
            }

            LogSignedIn(context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OidcSignIn)), subject, role);
            return Task.CompletedTask;
        };
        options.Events.OnRemoteFailure = context =>
        {
            // Back to the sign-in page with a sentence, never an exception page.
            LogFailed(context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OidcSignIn)),
                context.Failure?.Message ?? "unknown");
            context.Response.Redirect("/signin?reason=oidc_failed");
            context.HandleResponse();
            return Task.CompletedTask;
        };
    }

    [LoggerMessage(2005, LogLevel.Information, "{Subject} signed in with single sign-on (role {Role})")]
    private static partial void LogSignedIn(ILogger logger, string subject, string role);

    [LoggerMessage(2006, LogLevel.Warning, "Single sign-on failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
