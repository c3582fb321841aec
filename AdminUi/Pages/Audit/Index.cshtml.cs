using System.Globalization;
using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Audit;

/// <summary>TokenService's audit log, newest first, filtered by actor, action, target and time window (all by TokenService).</summary>
public sealed class AuditModel(TokenServiceClient tokenService) : AdminPageModel
{
    public const int PageSize = 50;

    public static readonly string[] KnownActions =
    [
        "credential.create", "credential.update", "credential.revoke", "credential.mint", "credential.bootstrap", "credential.refresh",
        "projection.reproject", "account.register", "account.sign_in", "account.sign_in_failed", "account.update", "invite.create",
        "signing_key.rotate",
    ];

    [BindProperty(SupportsGet = true, Name = "actor_id")] public string? ActorId { get; set; }
    [BindProperty(SupportsGet = true, Name = "action")] public string? ActionName { get; set; }
    [BindProperty(SupportsGet = true, Name = "target")] public string? Target { get; set; }
    [BindProperty(SupportsGet = true, Name = "from")] public string? FromText { get; set; }
    [BindProperty(SupportsGet = true, Name = "to")] public string? ToText { get; set; }
    [BindProperty(SupportsGet = true, Name = "after")] public string? After { get; set; }

    public List<AuditEntryView> Entries { get; } = [];
    public string? NextAfter { get; private set; }
    public string? InputError { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        if (!TryParseTime(FromText, out var from) || !TryParseTime(ToText, out var to))
        {
            InputError = "From and to must be times such as 2026-12-05T08:00 (UTC).";
            return;
        }

        var result = await tokenService.ListAuditAsync(
            new AuditQuery(Clean(ActionName), Clean(Target), Clean(ActorId), PageSize, Clean(After), from, to), ct);
        if (ValueOrProblem(result) is not { } page)
        {
            return;
        }

        Entries.AddRange(page.Data);
        NextAfter = page.HasMore ? page.LastId : null;
    }

    public string PageLink(string? after) =>
        "/audit" + QueryString.Create(new Dictionary<string, string?>
        {
            ["actor_id"] = Clean(ActorId),
            ["action"] = Clean(ActionName),
            ["target"] = Clean(Target),
            ["from"] = Clean(FromText),
            ["to"] = Clean(ToText),
            ["after"] = after,
        }.Where(p => !string.IsNullOrEmpty(p.Value))).ToUriComponent();

    /// <summary>A <c>datetime-local</c> value (or any ISO time), taken as UTC as the page says.</summary>
    private static bool TryParseTime(string? text, out DateTimeOffset? at)
    {
        at = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (DateTime.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed))
        {
            at = new DateTimeOffset(DateTime.SpecifyKind(parsed, DateTimeKind.Utc));
            return true;
        }

        return false;
    }
}
