using System.Globalization;
using LlmGateway.AdminUi.Charts;
using LlmGateway.AdminUi.Clients;
using LlmGateway.AdminUi.Model;
using Microsoft.AspNetCore.Mvc;

namespace LlmGateway.AdminUi.Pages.Usage;

/// <summary>
/// Requests, tokens and cost over time, by model, by credential and by agent, for a period and optional filters: one
/// usage report per view from the UsageWorker, drawn as SVG with the table behind each chart, and the same reports
/// (or every request) as CSV.
/// </summary>
public sealed class UsageModel(UsageClient usage, TokenServiceClient tokenService, TimeProvider time) : AdminPageModel
{
    /// <summary>The periods of the picker: how far back, and the bucket size that keeps a chart readable.</summary>
    public static readonly (string Value, string Label, TimeSpan Span, string Granularity)[] Periods =
    [
        ("24h", "Last 24 hours", TimeSpan.FromHours(24), "hour"),
        ("7d", "Last 7 days", TimeSpan.FromDays(7), "hour"),
        ("30d", "Last 30 days", TimeSpan.FromDays(30), "day"),
        ("90d", "Last 90 days", TimeSpan.FromDays(90), "day"),
    ];

    /// <summary>The groupings a CSV export can be asked for (the UsageWorker's <c>group_by</c> dimensions).</summary>
    public static readonly (string Value, string Label)[] Groupings =
    [
        ("", "Totals over time"),
        ("model", "By model"),
        ("credential", "By credential"),
        ("agent", "By agent"),
    ];

    private const int MaxRanked = 15;

    [BindProperty(SupportsGet = true, Name = "period")] public string? Period { get; set; }
    [BindProperty(SupportsGet = true, Name = "credential_id")] public string? CredentialId { get; set; }
    [BindProperty(SupportsGet = true, Name = "model")] public string? ModelName { get; set; }
    [BindProperty(SupportsGet = true, Name = "agent_name")] public string? AgentName { get; set; }
    [BindProperty(SupportsGet = true, Name = "device_id")] public string? DeviceId { get; set; }
    [BindProperty(SupportsGet = true, Name = "group_by")] public string? GroupBy { get; set; }

    public string SelectedPeriod => Periods.Any(p => p.Value == Period) ? Period! : "24h";

    public UsageRange Range { get; private set; } = null!;
    public UsageTotals Totals { get; private set; } = UsageTotals.Zero;
    public bool Loaded { get; private set; }

    public ColumnChart? RequestsChart { get; private set; }
    public ColumnChart? TokensChart { get; private set; }
    public ColumnChart? CostChart { get; private set; }
    public RankedView? ByModel { get; private set; }
    public RankedView? ByCredential { get; private set; }
    public RankedView? ByAgent { get; private set; }

    public UsageFilter Filter => new(CredentialId: Clean(CredentialId), Model: Clean(ModelName), AgentName: Clean(AgentName), DeviceId: Clean(DeviceId));

    public async Task OnGetAsync(CancellationToken ct)
    {
        Range = RangeOf(SelectedPeriod);
        var filter = Filter;
        var overTime = usage.GetReportAsync(Range, null, filter, ct);
        var byModel = usage.GetReportAsync(Range, "model", filter, ct);
        var byCredential = usage.GetReportAsync(Range, "credential", filter, ct);
        var byAgent = usage.GetReportAsync(Range, "agent", filter, ct);

        if (ValueOrProblem(await overTime) is { } report)
        {
            Loaded = true;
            Totals = report.Totals;
            var buckets = Buckets(report);
            RequestsChart = new ColumnChart("chart-requests", "Requests", "Requests",
                buckets.Select(b => new ChartPoint(b.Label, b.Totals.Requests, Display.Number(b.Totals.Requests))).ToList(), v => Display.Number((long)v), integral: true);
            TokensChart = new ColumnChart("chart-tokens", "Tokens (input, output and cache)", "Tokens",
                buckets.Select(b => new ChartPoint(b.Label, b.Totals.Tokens, Display.Number(b.Totals.Tokens))).ToList(), v => Display.Number((long)v), integral: true);
            CostChart = new ColumnChart("chart-cost", "Cost (USD)", "Cost",
                buckets.Select(b => new ChartPoint(b.Label, (double)b.Totals.CostUsd, Display.Usd(b.Totals.CostUsd))).ToList(), v => Display.Usd((decimal)v));
        }

        ByModel = Ranked(await byModel, "chart-by-model", "Requests by model", "Model", "model", v => Filtered(model: v));
        ByCredential = Ranked(await byCredential, "chart-by-credential", "Requests by credential", "Credential", "credential_id", static v => "/keys/" + Uri.EscapeDataString(v));
        if (ByCredential is not null)
        {
            ByCredential = await NamedAsync(ByCredential, ct);
        }
        ByAgent = Ranked(await byAgent, "chart-by-agent", "Requests by agent", "Agent", "agent_name", v => Filtered(agent: v));
    }

    /// <summary>
    /// CSV as the UsageWorker writes it, streamed through: a report (<c>group_by</c> as picked) or, with
    /// <c>what=events</c>, every request of the period.
    /// </summary>
    public async Task<IActionResult> OnGetCsvAsync(string? what, CancellationToken ct)
    {
        Range = RangeOf(SelectedPeriod);
        var groupBy = Groupings.Any(g => g.Value == GroupBy) && GroupBy is { Length: > 0 } g ? g : null;
        var opened = what == "events"
            ? await usage.OpenExportAsync(Range.From, Range.To, Filter, ct)
            : await usage.OpenReportCsvAsync(Range, groupBy, Filter, ct);
        if (!opened.Ok)
        {
            Problem = opened.Problem;
            await OnGetAsync(ct);
            Response.StatusCode = StatusCodes.Status502BadGateway;
            return Page();
        }

        var response = opened.Value;
        HttpContext.Response.RegisterForDispose(response);
        var name = response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName?.Trim('"')
            ?? string.Create(CultureInfo.InvariantCulture, $"usage-{Range.From.UtcDateTime:yyyyMMdd'T'HHmm'Z'}.csv");
        return File(await response.Content.ReadAsStreamAsync(ct), "text/csv; charset=utf-8", name);
    }

    /// <summary>A link to this page with the current filters and one value changed.</summary>
    public string Link(string? period = null, string? handler = null, string? groupBy = null, string? what = null) =>
        QueryString.Create(new Dictionary<string, string?>
        {
            ["handler"] = handler,
            ["period"] = period ?? SelectedPeriod,
            ["credential_id"] = Clean(CredentialId),
            ["model"] = Clean(ModelName),
            ["agent_name"] = Clean(AgentName),
            ["device_id"] = Clean(DeviceId),
            ["group_by"] = groupBy,
            ["what"] = what,
        }.Where(p => !string.IsNullOrEmpty(p.Value))).ToUriComponent() is { Length: > 0 } query ? "/usage" + query : "/usage";

    /// <summary>
    /// The charted credentials with their names (one read each, at most <see cref="MaxRanked"/>): an id alone says little
    /// to an operator. A credential that cannot be read keeps its id.
    /// </summary>
    private async Task<RankedView> NamedAsync(RankedView view, CancellationToken ct)
    {
        var ids = view.Rows.Take(MaxRanked).Select(r => r.Group).Where(id => id.Length > 0).ToList();
        var reads = await Task.WhenAll(ids.Select(id => tokenService.GetCredentialAsync(id, ct)));
        var names = reads.Where(r => r.Ok).ToDictionary(r => r.Value!.Id, r => r.Value!.Name ?? r.Value!.AgentName ?? r.Value!.Hint);
        var rows = view.Rows.Select(r => names.TryGetValue(r.Group, out var name) ? r with { Name = name } : r).ToList();
        var chart = new RankingChart(view.Chart.Id, view.Chart.Title, view.Chart.Points
            .Select(p => names.TryGetValue(p.Label, out var name) ? p with { Label = name } : p).ToList());
        return view with { Chart = chart, Rows = rows };
    }

    /// <summary>This page for the same period, narrowed to one model or agent.</summary>
    private string Filtered(string? model = null, string? agent = null) =>
        "/usage" + QueryString.Create(new Dictionary<string, string?>
        {
            ["period"] = SelectedPeriod,
            ["credential_id"] = Clean(CredentialId),
            ["model"] = model ?? Clean(ModelName),
            ["agent_name"] = agent ?? Clean(AgentName),
            ["device_id"] = Clean(DeviceId),
        }.Where(p => !string.IsNullOrEmpty(p.Value))).ToUriComponent();

    private UsageRange RangeOf(string period)
    {
        var (_, _, span, granularity) = Periods.First(p => p.Value == period);
        var step = granularity == "hour" ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);
        // Whole buckets, the current one included: the chart's last bar is "now".
        var now = time.GetUtcNow();
        var end = new DateTimeOffset(now.UtcTicks - now.UtcTicks % step.Ticks, TimeSpan.Zero) + step;
        return new UsageRange(end - span, end, granularity);
    }

    /// <summary>Every bucket of the range, empty ones included, so the time axis is even.</summary>
    private List<(string Label, UsageTotals Totals)> Buckets(UsageReport report)
    {
        var step = Range.Granularity == "hour" ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);
        var byStart = report.Data.GroupBy(r => r.BucketStart.UtcTicks)
            .ToDictionary(g => g.Key, g => g.Aggregate(UsageTotals.Zero, (sum, row) => sum.Add(row.Totals)));
        var format = Range.Granularity == "hour" ? (Range.To - Range.From > TimeSpan.FromDays(1) ? "MM-dd HH:mm" : "HH:mm") : "yyyy-MM-dd";
        var buckets = new List<(string, UsageTotals)>();
        for (var start = report.From; start < report.To; start += step)
        {
            buckets.Add((start.UtcDateTime.ToString(format, CultureInfo.InvariantCulture), byStart.GetValueOrDefault(start.UtcTicks, UsageTotals.Zero)));
        }

        return buckets;
    }

    private RankedView? Ranked(ApiResult<UsageReport> result, string id, string title, string heading, string column, Func<string, string?> link)
    {
        if (ValueOrProblem(result) is not { } report)
        {
            return null;
        }

        var groups = report.Data.GroupBy(r => r.GroupValue(column) ?? "")
            .Select(g => new RankedRow(g.Key, g.Aggregate(UsageTotals.Zero, (sum, row) => sum.Add(row.Totals)), g.Key.Length == 0 ? null : link(g.Key)))
            .OrderByDescending(r => r.Totals.Requests).ThenByDescending(r => r.Totals.CostNanoUsd).ThenBy(r => r.Group, StringComparer.Ordinal)
            .ToList();
        var chart = new RankingChart(id, title,
            groups.Take(MaxRanked).Select(r => new ChartPoint(r.Group.Length == 0 ? "(none)" : r.Group, r.Totals.Requests, Display.Number(r.Totals.Requests), r.Href)).ToList());
        return new RankedView(chart, heading, groups);
    }
}

/// <summary>A ranking chart and every row behind it.</summary>
public sealed record RankedView(RankingChart Chart, string Heading, IReadOnlyList<RankedRow> Rows);

/// <param name="Name">What the group is called when that is not its value (a credential's name).</param>
public sealed record RankedRow(string Group, UsageTotals Totals, string? Href, string? Name = null);
