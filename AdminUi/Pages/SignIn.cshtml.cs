using LlmGateway.AdminUi.Authentication;
using LlmGateway.AdminUi.Clients;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace LlmGateway.AdminUi.Pages;

public sealed class SignInModel(AdminKeySignIn adminKeys) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty(SupportsGet = true, Name = "reason")]
    public string? ReasonCode { get; set; }

    public string? Refusal { get; private set; }

    public ApiProblem? Problem { get; private set; }

    public string? Reason => ReasonCode switch
    {
        "rejected" => "Your session ended: the admin API no longer accepts its key (revoked or expired). Sign in with a valid admin key.",
        "signedout" => "You are signed out.",
        _ => null,
    };

    public IActionResult OnGet() =>
        User.Identity?.IsAuthenticated == true && ReasonCode is null ? LocalRedirect(SafeReturnUrl) : Page();

    public async Task<IActionResult> OnPostAsync(string? adminKey, CancellationToken ct)
    {
        ReasonCode = null;
        var outcome = await adminKeys.CheckAsync(adminKey, ct);
        if (outcome.Principal is null)
        {
            Refusal = outcome.Refusal;
            Problem = outcome.Problem;
            Response.StatusCode = outcome.Problem is null ? StatusCodes.Status401Unauthorized : StatusCodes.Status503ServiceUnavailable;
            return Page();
        }

        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, outcome.Principal);
        return LocalRedirect(SafeReturnUrl);
    }

    /// <summary>Only a path of this site: never an open redirect.</summary>
    private string SafeReturnUrl => Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/";
}
