using System.ComponentModel.DataAnnotations;
using LlmGateway.AdminUi.Authentication;
using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Account;

/// <summary>
/// A signed-in person's own API keys (seed 003's dashboard): list, generate (the secret shown once), delete. Everything
/// goes through <c>/api/keys/*</c> with the person's own token, so TokenService applies their role and their limits.
/// </summary>
public sealed class MyKeysModel(AccountsClient accounts) : AdminPageModel
{
    /// <summary>TempData slot of a generated key's secret: shown by the next GET only.</summary>
    private const string SecretSlot = "lgw.my_new_secret";

    [BindProperty(SupportsGet = true, Name = "all")]
    public bool IncludeInactive { get; set; }

    [BindProperty, StringLength(200)]
    public string? Name { get; set; }

    [BindProperty, StringLength(4000)]
    public string? Models { get; set; }

    [BindProperty, StringLength(32)]
    public string? ExpiresIn { get; set; }

    public ListPage<CredentialView>? Listing { get; private set; }

    public string? NewSecret { get; private set; }

    public IReadOnlyList<string> InputErrors { get; private set; } = [];

    /// <summary>Viewers read usage; they do not get keys to call the model API (TokenService refuses them too).</summary>
    public bool CanGenerate => User.IsInRole(SessionRoles.Member) || User.IsInRole(SessionRoles.Admin);

    public async Task OnGetAsync(CancellationToken ct)
    {
        NewSecret = TempData[SecretSlot] as string;
        Listing = ValueOrProblem(await accounts.ListKeysAsync(IncludeInactive, ct));
    }

    public async Task<IActionResult> OnPostGenerateAsync(CancellationToken ct)
    {
        InputErrors = FormErrors.Of(ModelState);
        if (InputErrors.Count > 0)
        {
            Listing = ValueOrProblem(await accounts.ListKeysAsync(IncludeInactive, ct));
            return Page();
        }

        var created = await accounts.GenerateKeyAsync(Clean(Name), Keys.ScopeInput.ParseList(Models), Clean(ExpiresIn), ct);
        if (!created.Ok)
        {
            Problem = created.Problem;
            Response.StatusCode = created.Problem.Status is >= 400 and < 500 ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status502BadGateway;
            Listing = ValueOrProblem(await accounts.ListKeysAsync(IncludeInactive, ct));
            return Page();
        }

        TempData[SecretSlot] = created.Value.Secret;
        return RedirectWithNotice("/account/keys", $"Key {created.Value.Hint} created.");
    }

    public async Task<IActionResult> OnPostDeleteAsync(string id, CancellationToken ct)
    {
        var deleted = await accounts.DeleteKeyAsync(id, ct);
        if (!deleted.Ok)
        {
            Problem = deleted.Problem;
            Response.StatusCode = deleted.Problem.Status is >= 400 and < 500 ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status502BadGateway;
            Listing = ValueOrProblem(await accounts.ListKeysAsync(IncludeInactive, ct));
            return Page();
        }

        return RedirectWithNotice("/account/keys", "Key deleted: gateways refuse it from now on.");
    }
}
