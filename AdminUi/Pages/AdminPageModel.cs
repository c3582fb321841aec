using LlmGateway.AdminUi.Authentication;
using LlmGateway.AdminUi.Clients;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace LlmGateway.AdminUi.Pages;

/// <summary>What every signed-in page shares: the message of the last change (shown once) and the session's hint.</summary>
public abstract class AdminPageModel : PageModel
{
    /// <summary>A confirmation carried over a redirect after a change ("Key revoked.").</summary>
    [TempData]
    public string? Notice { get; set; }

    /// <summary>The problem that kept the page's main content from loading.</summary>
    public ApiProblem? Problem { get; protected set; }

    public string SignedInAs => SessionClaims.CredentialOf(User)?.Hint ?? User.Identity?.Name ?? "";

    /// <summary>The value of a result, or null with <see cref="Problem"/> set.</summary>
    protected T? ValueOrProblem<T>(ApiResult<T> result)
    {
        if (result.Ok)
        {
            return result.Value;
        }

        Problem ??= result.Problem;
        return default;
    }

    protected static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    protected IActionResult RedirectWithNotice(string url, string notice)
    {
        Notice = notice;
        return LocalRedirect(url);
    }
}
