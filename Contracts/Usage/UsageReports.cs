using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmGateway.Contracts.Usage;

// Response bodies of the UsageWorker's usage API (UsageWorker/Apis/UsageApi.cs), snake_case on the wire; the
// UsageWorker writes them and the AdminUi reads them. Costs are given both exactly, in nano-USD, and in USD.

/// <summary>Counts and cost of a set of requests.</summary>
public sealed record UsageTotals(
    long Requests,
    long Errors,
    long InputTokens,
    long OutputTokens,
    long CacheCreationInputTokens,
    long CacheReadInputTokens,
    long CostNanoUsd)
{
    public decimal CostUsd => CostNanoUsd / 1_000_000_000m;

    /// <summary>Every token the requests consumed or produced (input, output and both cache counts).</summary>
    [JsonIgnore]
    public long Tokens => InputTokens + OutputTokens + CacheCreationInputTokens + CacheReadInputTokens;

    public static UsageTotals Zero { get; } = new(0, 0, 0, 0, 0, 0, 0);

    public UsageTotals Add(UsageTotals other) => new(
        Requests + other.Requests,
        Errors + other.Errors,
        InputTokens + other.InputTokens,
        OutputTokens + other.OutputTokens,
        CacheCreationInputTokens + other.CacheCreationInputTokens,
        CacheReadInputTokens + other.CacheReadInputTokens,
        CostNanoUsd + other.CostNanoUsd);
}

/// <summary>
/// One bucket of one group: the bucket start, the grouped dimensions (only those, e.g. <c>model</c>,
/// <c>credential_id</c>; a grouped dimension the requests did not have, e.g. no agent, is null), then the totals,
/// all flat.
/// </summary>
public sealed class UsageReportRow
{
    public required DateTimeOffset BucketStart { get; init; }

    /// <summary>Written from column values; read back as <see cref="JsonElement"/>s (see <see cref="GroupValue"/>).</summary>
    [JsonExtensionData]
    public Dictionary<string, object?> Group { get; init; } = [];

    public required long Requests { get; init; }
    public required long Errors { get; init; }
    public required long InputTokens { get; init; }
    public required long OutputTokens { get; init; }
    public required long CacheCreationInputTokens { get; init; }
    public required long CacheReadInputTokens { get; init; }
    public required long CostNanoUsd { get; init; }
    public decimal CostUsd => CostNanoUsd / 1_000_000_000m;

    [JsonIgnore]
    public UsageTotals Totals => new(Requests, Errors, InputTokens, OutputTokens, CacheCreationInputTokens, CacheReadInputTokens, CostNanoUsd);

    /// <summary>The text of a grouped column; null when the requests had none (e.g. no agent).</summary>
    public string? GroupValue(string column) => Group.TryGetValue(column, out var value) ? value switch
    {
        null => null,
        JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
        JsonElement { ValueKind: JsonValueKind.String } text => text.GetString(),
        JsonElement other => other.GetRawText(),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
    } : null;
}

/// <summary><c>GET /admin/usage</c>.</summary>
public sealed record UsageReport(
    DateTimeOffset From,
    DateTimeOffset To,
    string Granularity,
    IReadOnlyList<string> GroupBy,
    IReadOnlyList<UsageReportRow> Data,
    UsageTotals Totals)
{
    [JsonPropertyOrder(-1)]
    public string Object => "usage_report";
}

public sealed record Percentiles(int? P50, int? P95);

public sealed record ModelStats(string? Model, long Requests, long Errors, long InputTokens, long OutputTokens, long CostNanoUsd)
{
    public decimal CostUsd => CostNanoUsd / 1_000_000_000m;
}

public sealed record CredentialStats(string? CredentialId, long Requests, long Errors, long InputTokens, long OutputTokens, long CostNanoUsd)
{
    public decimal CostUsd => CostNanoUsd / 1_000_000_000m;
}

/// <summary><c>GET /admin/stats</c>.</summary>
public sealed record StatsReport(
    DateTimeOffset From,
    DateTimeOffset To,
    double WindowSeconds,
    UsageTotals Totals,
    double ErrorRate,
    double RequestsPerSecond,
    double TokensPerSecond,
    Percentiles LatencyMs,
    Percentiles TimeToFirstByteMs,
    IReadOnlyList<ModelStats> TopModels,
    IReadOnlyList<CredentialStats> TopCredentials)
{
    [JsonPropertyOrder(-1)]
    public string Object => "usage_stats";
}
