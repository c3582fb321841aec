using System.Globalization;
using LlmGateway.UsageWorker.Authentication;
using LlmGateway.UsageWorker.Infrastructure;
using LlmGateway.Contracts.Usage;
using LlmGateway.UsageWorker.Model;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace LlmGateway.UsageWorker.Apis;

/// <summary>
/// The usage API, served on the Gateway's public address (the Gateway hands <c>/admin/usage*</c> and
/// <c>/admin/stats*</c> to this service):
/// <list type="bullet">
/// <item><c>GET /admin/usage</c>: requests, errors, tokens and cost per hour or day, grouped by credential, owner,
/// organization, agent, device and/or model, filtered by any of them (JSON, or CSV with <c>format=csv</c>).</item>
/// <item><c>GET /admin/usage/export</c>: every request of a range as CSV.</item>
/// <item><c>GET /admin/stats</c>: totals, error rate, rates, p50/p95 latency and time to first byte, top models and
/// credentials of a window.</item>
/// </list>
/// Admin credentials see everything; a device token sees its device's usage and any other credential its own (seed
/// 002's "usage metrics for your device").
/// </summary>
public static class UsageApi
{
    /// <summary>Most rows a JSON usage report returns; larger reports need a narrower query or <c>format=csv</c>.</summary>
    public const int MaxJsonRows = 10_000;

    /// <summary>Any authenticated caller: what they see is their <see cref="UsageScope"/>.</summary>
    public const string ReadPolicy = "usage:read";

    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin");
        admin.MapGet("/usage", GetUsageAsync);
        admin.MapGet("/usage/export", ExportUsageAsync);
        admin.MapGet("/stats", GetStatsAsync);
        admin.RequireAuthorization(ReadPolicy);
        return app;
    }

    internal static async Task<Results<Ok<UsageReport>, CsvResult, JsonHttpResult<ApiError>>> GetUsageAsync(
        [AsParameters] UsageApiServices services, HttpContext context, CancellationToken ct)
    {
        var scope = UsageScope.Of(context);

        if (!UsageQueryParser.TryParseUsage(context.Request.Query, services.Time.GetUtcNow(), out var query, out var error))
        {
            return ApiError.BadRequest(context, error);
        }

        var groupColumns = query.GroupBy.SelectMany(UsageQueries.ColumnsOf).ToList();
        QueryCursor cursor;
        try
        {
            cursor = await services.Queries.OpenUsageReportAsync(query, scope, query.Csv ? null : MaxJsonRows + 1, ct);
        }
        catch (NpgsqlException)
        {
            return ApiError.StoreUnavailable(context);
        }

        if (query.Csv)
        {
            List<string> header = ["bucket_start", .. groupColumns, "requests", "errors", "input_tokens", "output_tokens",
                "cache_creation_input_tokens", "cache_read_input_tokens", "cost_nano_usd", "cost_usd"];
            var costOrdinal = header.Count - 2;
            return new CsvResult(cursor, FileName("usage", query.From, query.To), header, (reader, i) => i == costOrdinal + 1
                ? (reader.GetInt64(costOrdinal) / 1_000_000_000m).ToString(CultureInfo.InvariantCulture)
                : CsvResult.Cell(reader, i));
        }

        var rows = new List<UsageReportRow>();
        await using (cursor)
        {
            try
            {
                while (await cursor.Reader.ReadAsync(ct))
                {
                    rows.Add(UsageQueries.ReadUsageRow(cursor.Reader, groupColumns));
                }
            }
            catch (NpgsqlException)
            {
                return ApiError.StoreUnavailable(context);
            }
        }

        if (rows.Count > MaxJsonRows)
        {
            return ApiError.BadRequest(context,
                $"The report has more than {MaxJsonRows} rows: narrow the range or the grouping, use granularity=day, or format=csv.");
        }

        var totals = rows.Aggregate(UsageTotals.Zero, (sum, row) => sum.Add(row.Totals));
        return TypedResults.Ok(new UsageReport(
            query.From,
            query.To,
            query.Granularity == Granularity.Hour ? "hour" : "day",
            query.GroupBy.Select(d => d.ToString().ToLowerInvariant()).ToList(),
            rows,
            totals));
    }

    internal static async Task<Results<CsvResult, JsonHttpResult<ApiError>>> ExportUsageAsync(
        [AsParameters] UsageApiServices services, HttpContext context, CancellationToken ct)
    {
        var scope = UsageScope.Of(context);

        if (!UsageQueryParser.TryParseExport(context.Request.Query, services.Time.GetUtcNow(), out var query, out var error))
        {
            return ApiError.BadRequest(context, error);
        }

        try
        {
            var cursor = await services.Queries.OpenExportAsync(query, scope, ct);
            return new CsvResult(cursor, FileName("usage-events", query.From, query.To), UsageQueries.ExportColumns, CsvResult.Cell);
        }
        catch (NpgsqlException)
        {
            return ApiError.StoreUnavailable(context);
        }
    }

    internal static async Task<Results<Ok<StatsReport>, JsonHttpResult<ApiError>>> GetStatsAsync(
        [AsParameters] UsageApiServices services, HttpContext context, CancellationToken ct)
    {
        var scope = UsageScope.Of(context);

        if (!UsageQueryParser.TryParseStats(context.Request.Query, services.Time.GetUtcNow(), out var query, out var error))
        {
            return ApiError.BadRequest(context, error);
        }

        try
        {
            return TypedResults.Ok(await services.Queries.ReadStatsAsync(query, scope, ct));
        }
        catch (NpgsqlException)
        {
            return ApiError.StoreUnavailable(context);
        }
    }

    private static string FileName(string what, DateTimeOffset from, DateTimeOffset to) =>
        string.Create(CultureInfo.InvariantCulture, $"{what}-{from.UtcDateTime:yyyyMMdd'T'HHmm'Z'}-{to.UtcDateTime:yyyyMMdd'T'HHmm'Z'}.csv");
}

/// <summary>What the usage API's handlers need.</summary>
internal sealed record UsageApiServices(UsageQueries Queries, TimeProvider Time);
