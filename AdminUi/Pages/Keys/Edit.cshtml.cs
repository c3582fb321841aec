using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Keys;

public sealed class EditKeyModel(TokenServiceClient tokenService) : AdminPageModel
{
    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    [BindProperty] public ScopeInput Scope { get; set; } = new();

    /// <summary>The expiry in the form (UTC, minute precision); empty with <see cref="NeverExpires"/> to remove it.</summary>
    [BindProperty] public DateTimeOffset? ExpiresAt { get; set; }
    [BindProperty] public bool NeverExpires { get; set; }

    /// <summary>The expiry as the form showed it: unchanged fields are not sent (the form's minutes would round it).</summary>
    [BindProperty] public string? ShownExpiry { get; set; }

    public CredentialView? Credential { get; private set; }

    public IReadOnlyList<string> InputErrors { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        Credential = ValueOrProblem(await tokenService.GetCredentialAsync(Id, ct));
        if (Credential is not null)
        {
            Scope = ScopeInput.From(Credential);
            ExpiresAt = Credential.ExpiresAt;
            NeverExpires = Credential.ExpiresAt is null;
            ShownExpiry = ExpiryText(ExpiresAt, NeverExpires);
        }
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        InputErrors = FormErrors.Of(ModelState);
        Credential = ValueOrProblem(await tokenService.GetCredentialAsync(Id, ct));
        if (Credential is null || InputErrors.Count > 0)
        {
            return Page();
        }

        var expiry = NeverExpires ? null : ExpiresAt is { } at ? new DateTimeOffset(at.DateTime, TimeSpan.Zero) : (DateTimeOffset?)null;
        var changes = new CredentialChanges
        {
            NameChanged = Scope.CleanName != Credential.Name,
            Name = Scope.CleanName,
            Models = ScopeInput.ParseList(Scope.Models) ?? ["*"],
            Routes = ScopeInput.ParseList(Scope.Routes) ?? ["*"],
            Limits = Scope.ToLimits(),
            ExpiryChanged = ExpiryText(ExpiresAt, NeverExpires) != ShownExpiry,
            ExpiresAt = expiry,
        };
        var updated = await tokenService.UpdateCredentialAsync(Id, changes, ct);
        if (!updated.Ok)
        {
            Problem = updated.Problem;
            Response.StatusCode = updated.Problem.Status is >= 400 and < 500 ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status502BadGateway;
            return Page();
        }

        var revoked = updated.Value.RevokedDescendants;
        return RedirectWithNotice("/keys/" + Uri.EscapeDataString(Id),
            "Changes saved." + (revoked > 0 ? $" {revoked} minted token(s) no longer within the new scope were revoked." : ""));
    }

    private static string ExpiryText(DateTimeOffset? at, bool never) => never ? "never" : Display.LocalInput(at);
}
