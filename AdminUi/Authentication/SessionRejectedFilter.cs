using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace LlmGateway.AdminUi.Authentication;

/// <summary>
/// When an API answered 401 to the session's own credential during a page (the key was revoked or expired after
/// sign-in), the session is over: sign out and send the person to the sign-in page, which says why.
/// </summary>
public sealed class SessionRejectedFilter : IAsyncPageFilter
{
    private static readonly object Marker = new();

    /// <summary>Called by <see cref="Clients.ApiCredentialHandler"/> when the session's credential got a 401.</summary>
    public static void MarkRejected(HttpContext context) => context.Items[Marker] = true;

    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var executed = await next();
        if (executed.HttpContext.Items.ContainsKey(Marker))
        {
            await executed.HttpContext.SignOutAsync();
            executed.Result = new RedirectResult("/signin?reason=rejected");
        }
    }
}
