using System.Globalization;
using LlmGateway.AdminUi.Model;

namespace LlmGateway.AdminUi.Clients;

/// <summary>
/// The UsageWorker's usage API (<c>/admin/usage</c>, <c>/admin/usage/export</c>, <c>/admin/stats</c>; see
/// UsageWorker/README.md), called on the gateway's public address, which hands these routes to the UsageWorker.
/// </summary>
public sealed class UsageClient(HttpClient http, ILogger<UsageClient> logger) : ApiClient(http, logger, "The usage API (UsageWorker)")
{
    /// <summary>Requests, tokens and cost per bucket, grouped by the given dimensions (none: totals per bucket).</summary>
    public Task<ApiResult<UsageReport>> GetReportAsync(UsageRange range, string? groupBy, UsageFilter filter, CancellationToken ct) =>
        GetAsync<UsageReport>(ReportPath(range, groupBy, filter, csv: false), ct);

    public Task<ApiResult<StatsReport>> GetStatsAsync(DateTimeOffset from, DateTimeOffset to, UsageFilter filter, int top, CancellationToken ct) =>
        GetAsync<StatsReport>(Query("/admin/stats",
        [
            new("from", TokenServiceClient.Timestamp(from)),
            new("to", TokenServiceClient.Timestamp(to)),
            new("top", top.ToString(CultureInfo.InvariantCulture)),
            .. filter.Parameters,
        ]), ct);

    /// <summary>The same report as CSV, streamed: the caller copies and disposes the response.</summary>
    public Task<ApiResult<HttpResponseMessage>> OpenReportCsvAsync(UsageRange range, string? groupBy, UsageFilter filter, CancellationToken ct) =>
        SendStreamingAsync(new HttpRequestMessage(HttpMethod.Get, ReportPath(range, groupBy, filter, csv: true)), ct);

    /// <summary>Every request of the range as CSV, streamed: the caller copies and disposes the response.</summary>
    public Task<ApiResult<HttpResponseMessage>> OpenExportAsync(DateTimeOffset from, DateTimeOffset to, UsageFilter filter, CancellationToken ct) =>
        SendStreamingAsync(new HttpRequestMessage(HttpMethod.Get, Query("/admin/usage/export",
        [
            new("from", TokenServiceClient.Timestamp(from)),
            new("to", TokenServiceClient.Timestamp(to)),
            .. filter.Parameters,
        ])), ct);

    private static string ReportPath(UsageRange range, string? groupBy, UsageFilter filter, bool csv) => Query("/admin/usage",
    [
        new("from", TokenServiceClient.Timestamp(range.From)),
        new("to", TokenServiceClient.Timestamp(range.To)),
        new("granularity", range.Granularity),
        new("group_by", groupBy),
        .. filter.Parameters,
        new("format", csv ? "csv" : null),
    ]);
}

/// <summary>A report's range and bucket size (<c>hour</c> or <c>day</c>).</summary>
public sealed record UsageRange(DateTimeOffset From, DateTimeOffset To, string Granularity);
