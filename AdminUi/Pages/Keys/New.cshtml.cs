using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using LlmGateway.Contracts.Credentials;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Keys;

public sealed class NewKeyModel(TokenServiceClient tokenService) : AdminPageModel
{
    /// <summary>TempData slot of a new key's secret: read once by the key's page, so a reload no longer shows it.</summary>
    public const string SecretSlot = "lgw.new_secret";

    public static readonly (string Value, string Label)[] Kinds =
    [
        (CredentialKindNames.Of(CredentialKind.ApiKey), "API key (apps, teams, people)"),
        (CredentialKindNames.Of(CredentialKind.AgentToken), "Agent token (short-lived, for an AI agent)"),
        (CredentialKindNames.Of(CredentialKind.AdminKey), "Admin key (the admin API and this UI)"),
    ];

    [BindProperty] public string Kind { get; set; } = CredentialKindNames.Of(CredentialKind.ApiKey);
    [BindProperty] public string? AgentName { get; set; }
    [BindProperty] public string OwnerType { get; set; } = "organization";
    [BindProperty] public string? OwnerId { get; set; }
    [BindProperty] public string? OwnerName { get; set; }
    [BindProperty] public ScopeInput Scope { get; set; } = new();
    [BindProperty] public string? Ttl { get; set; }
    [BindProperty] public DateTimeOffset? ExpiresAt { get; set; }

    public IReadOnlyList<string> InputErrors { get; private set; } = [];

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        InputErrors = FormErrors.Of(ModelState);
        if (InputErrors.Count > 0)
        {
            return Page();
        }

        var request = new NewCredential
        {
            Kind = Kind,
            Name = Scope.CleanName,
            Owner = new CredentialOwner { Type = OwnerType, Id = Clean(OwnerId) ?? "", Name = Clean(OwnerName) },
            AgentName = Clean(AgentName),
            Models = ScopeInput.ParseList(Scope.Models),
            Routes = ScopeInput.ParseList(Scope.Routes),
            Limits = Scope.HasLimits ? Scope.ToLimits() : null,
            Ttl = Clean(Ttl),
            // The field is UTC (the page says so), whatever the browser's zone.
            ExpiresAt = ExpiresAt is { } at ? new DateTimeOffset(at.DateTime, TimeSpan.Zero) : null,
        };
        var created = await tokenService.CreateCredentialAsync(request, ct);
        if (!created.Ok)
        {
            Problem = created.Problem;
            Response.StatusCode = created.Problem.Status is >= 400 and < 500 ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status502BadGateway;
            return Page();
        }

        TempData[SecretSlot] = created.Value.Secret;
        return RedirectWithNotice("/keys/" + Uri.EscapeDataString(created.Value.Id), $"{Display.KindName(created.Value.Kind)} {created.Value.Hint} created.");
    }
}
