using System.Globalization;
using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Audit;

/// <summary>
/// TokenService's audit log, newest first, filtered by actor, action and target (by TokenService) and by time. The
/// audit API has no time filter, so the page reads pages newest first and keeps the entries inside the window,
/// stopping at the first entry older than its start.
/// </summary>
public sealed class AuditModel(TokenServiceClient tokenService) : AdminPageModel
{
    public const int PageSize = 50;

    /// <summary>Most entries read to fill one page when a time window is set.</summary>
    private const int MaxScanned = 5000;

    public static readonly string[] KnownActions = ["credential.create", "credential.update", "credential.revoke", "projection.reproject"];

    [BindProperty(SupportsGet = true, Name = "actor_id")] public string? ActorId { get; set; }
    [BindProperty(SupportsGet = true, Name = "action")] public string? ActionName { get; set; }
    [BindProperty(SupportsGet = true, Name = "target")] public string? Target { get; set; }
    [BindProperty(SupportsGet = true, Name = "from")] public string? FromText { get; set; }
    [BindProperty(SupportsGet = true, Name = "to")] public string? ToText { get; set; }
    [BindProperty(SupportsGet = true, Name = "after")] public string? After { get; set; }

    public List<AuditEntry> Entries { get; } = [];
    public string? NextAfter { get; private set; }
    public string? InputError { get; private set; }
    public bool ScanLimited { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        if (!TryParseTime(FromText, out var from) || !TryParseTime(ToText, out var to))
        {
            InputError = "From and to must be times such as 2026-12-05T08:00 (UTC).";
            return;
        }

        var after = Clean(After);
        var scanned = 0;
        while (Entries.Count < PageSize)
        {
            var windowed = from is not null || to is not null;
            var result = await tokenService.ListAuditAsync(new AuditQuery(Clean(ActionName), Clean(Target), Clean(ActorId),
                Limit: windowed ? 200 : PageSize, AfterId: after), ct);
            if (ValueOrProblem(result) is not { } page)
            {
                return;
            }

            scanned += page.Data.Count;
            foreach (var entry in page.Data)
            {
                if (from is { } start && entry.At < start)
                {
                    return; // newest first: nothing further is inside the window
                }

                if (to is { } end && entry.At >= end)
                {
                    continue;
                }

                Entries.Add(entry);
                if (Entries.Count == PageSize)
                {
                    NextAfter = entry.Id.ToString(CultureInfo.InvariantCulture);
                    return;
                }
            }

            if (!page.HasMore || page.LastId is null)
            {
                return;
            }

            after = page.LastId;
            if (scanned >= MaxScanned)
            {
                ScanLimited = true;
                NextAfter = after;
                return;
            }
        }
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
