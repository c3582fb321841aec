using System.Text.Json.Serialization;

namespace LlmGateway.UsageWorker.Model;

// Response bodies of the usage API (snake_case on the wire). Costs are given both exactly, in nano-USD, and in USD.

/// <summary>Counts and cost of a set of requests.</summary>
internal sealed record UsageTotals(
    long Requests,
    long Errors,
    long InputTokens,
    long OutputTokens,
    long CacheCreationInputTokens,
    long CacheReadInputTokens,
    long CostNanoUsd)
{
    public decimal CostUsd => CostNanoUsd / 1_000_000_000m;

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
/// One bucket of one group: the bucket start, the grouped dimensions (only those; a grouped dimension the requests did
/// not have, e.g. no agent, is null), then the totals, all flat.
/// </summary>
internal sealed class UsageReportRow
{
    public required DateTimeOffset BucketStart { get; init; }

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
}

internal sealed record UsageReport(
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

internal sealed record Percentiles(int? P50, int? P95);

internal sealed record ModelStats(string? Model, long Requests, long Errors, long InputTokens, long OutputTokens, long CostNanoUsd)
{
    public decimal CostUsd => CostNanoUsd / 1_000_000_000m;
}

internal sealed record CredentialStats(string? CredentialId, long Requests, long Errors, long InputTokens, long OutputTokens, long CostNanoUsd)
{
    public decimal CostUsd => CostNanoUsd / 1_000_000_000m;
}

internal sealed record StatsReport(
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
