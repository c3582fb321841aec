using System.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace LlmGateway.AdminUi.Pages;

/// <summary>The page for unknown addresses and for failures of the UI itself: a message, never a stack trace.</summary>
[IgnoreAntiforgeryToken]
public sealed class ErrorModel : PageModel
{
    [BindProperty(SupportsGet = true, Name = "status")]
    public int? Status { get; set; }

    public string? RequestId { get; private set; }

    public string Title => Status switch
    {
        404 => "Page not found",
        400 => "Bad request",
        _ => "Something went wrong",
    };

    public string Explanation => Status switch
    {
        404 => "There is no page at this address.",
        400 => "The request could not be understood. If you submitted a form, reload the page and try again.",
        _ => "The admin UI could not complete this request. The error is in its log under the request id below.",
    };

    public void OnGet() => Prepare();

    public void OnPost() => Prepare();

    private void Prepare()
    {
        RequestId = Activity.Current?.TraceId.ToString() ?? HttpContext.TraceIdentifier;
        if (Status is null)
        {
            Response.StatusCode = StatusCodes.Status500InternalServerError;
        }
    }
}
