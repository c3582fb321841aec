using System.Security.Claims;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace LlmGateway.AdminUi.Pages;

/// <summary>Where a signed-in person lands on a page their role does not include (the cookie scheme's access-denied path).</summary>
public sealed class DeniedModel : PageModel
{
    public string Role => User.FindFirst(ClaimTypes.Role)?.Value ?? "none";

    public void OnGet() => Response.StatusCode = StatusCodes.Status403Forbidden;
}
