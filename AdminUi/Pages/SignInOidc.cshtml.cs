using LlmGateway.AdminUi.Authentication;
using LlmGateway.AdminUi.Options;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace LlmGateway.AdminUi.Pages;

/// <summary>Starts single sign-on: a GET (a link, not a form: the CSP allows forms to post to this site only).</summary>
public sealed class SignInOidcModel(OidcSignInOptions oidc) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public IActionResult OnGet()
    {
        if (!oidc.Enabled)
        {
            return NotFound();
        }

        var target = Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/";
        return Challenge(new AuthenticationProperties { RedirectUri = target }, OidcSignIn.Scheme);
    }
}
