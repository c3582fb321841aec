using LlmGateway.AdminUi.Authentication;
using LlmGateway.AdminUi.Clients;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace LlmGateway.AdminUi.Pages;

public sealed class SignInModel(AdminKeySignIn adminKeys, PasswordSignIn passwords, Options.OidcSignInOptions oidc) : PageModel
{
    public Options.OidcSignInOptions Oidc => oidc;

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty(SupportsGet = true, Name = "reason")]
    public string? ReasonCode { get; set; }

    public string? Refusal { get; private set; }

    public ApiProblem? Problem { get; private set; }

    public string? Reason => ReasonCode switch
    {
        "rejected" => "Your session ended: the APIs no longer accept its credential (revoked or expired). Sign in again.",
        "signedout" => "You are signed out.",
        "oidc_failed" => "Single sign-on did not complete (refused or interrupted at the issuer). Try again, or use another way to sign in.",
        _ => null,
    };

    public IActionResult OnGet() =>
        User.Identity?.IsAuthenticated == true && ReasonCode is null ? LocalRedirect(SafeReturnUrl) : Page();

    /// <summary>The admin key form.</summary>
    public async Task<IActionResult> OnPostAsync(string? adminKey, CancellationToken ct) =>
        await CompleteAsync(await adminKeys.CheckAsync(adminKey, ct));

    /// <summary>The account form (email and password).</summary>
    public async Task<IActionResult> OnPostPasswordAsync(string? email, string? password, CancellationToken ct)
    {
        Email = email;
        return await CompleteAsync(await passwords.CheckAsync(email, password, ct));
    }

    /// <summary>The email typed, kept when a sign-in is refused (never the password).</summary>
    public string? Email { get; private set; }

    private async Task<IActionResult> CompleteAsync(SignInOutcome outcome)
    {
        ReasonCode = null;
        if (outcome.Principal is null)
        {
            Refusal = outcome.Refusal;
            Problem = outcome.Problem;
            Response.StatusCode = outcome.Problem is null ? StatusCodes.Status401Unauthorized : StatusCodes.Status503ServiceUnavailable;
            return Page();
        }

        // A session never outlives its credential: a token's expiry ends it, as the cookie's own lifetime does.
        var properties = new AuthenticationProperties();
        if (outcome.CredentialExpires is { } expires)
        {
            var cookieLifetime = DateTimeOffset.UtcNow + HttpContext.RequestServices
                .GetRequiredService<Microsoft.Extensions.Options.IOptions<Options.AdminUiOptions>>().Value.SessionLifetime;
            properties.ExpiresUtc = expires < cookieLifetime ? expires : cookieLifetime;
        }

        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, outcome.Principal, properties);
        return LocalRedirect(SafeReturnUrl);
    }

    /// <summary>Only a path of this site: never an open redirect.</summary>
    private string SafeReturnUrl => Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/";
}
