using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Keys;

/// <summary>Revoking asks first: the confirmation page says what else goes with the key.</summary>
public sealed class RevokeKeyModel(TokenServiceClient tokenService) : AdminPageModel
{
    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    [BindProperty] public string? Reason { get; set; }

    public CredentialView? Credential { get; private set; }

    /// <summary>Active tokens minted from the key (revoked with it); null when they could not be counted.</summary>
    public int? ActiveMinted { get; private set; }
    public bool MoreMinted { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        var credential = tokenService.GetCredentialAsync(Id, ct);
        var minted = tokenService.ListCredentialsAsync(new CredentialQuery(Status: "active", ParentId: Id, Limit: 1000), ct);
        Credential = ValueOrProblem(await credential);
        if ((await minted).Value is { } page)
        {
            ActiveMinted = page.Data.Count;
            MoreMinted = page.HasMore;
        }
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var revoked = await tokenService.RevokeCredentialAsync(Id, Reason, ct);
        if (!revoked.Ok)
        {
            Problem = revoked.Problem;
            Credential = (await tokenService.GetCredentialAsync(Id, ct)).Value;
            Response.StatusCode = revoked.Problem.Status is >= 400 and < 500 ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status502BadGateway;
            return Page();
        }

        var descendants = revoked.Value.RevokedDescendants;
        return RedirectWithNotice("/keys/" + Uri.EscapeDataString(Id),
            $"{Display.KindName(revoked.Value.Credential.Kind)} {revoked.Value.Credential.Hint} revoked"
            + (descendants > 0 ? $", with {descendants} token(s) minted from it." : ".")
            + " The gateway refuses it from now on.");
    }
}
