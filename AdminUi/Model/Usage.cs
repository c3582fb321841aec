using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmGateway.AdminUi.Model;

// The UsageWorker's usage API (UsageWorker/Apis/UsageApi.cs owns these shapes), reached through the gateway.

/// <summary>Counts and cost of a set of requests. Cost is exact in nano-USD.</summary>
public sealed record UsageTotals(
    long Requests,
    long Errors,
    long InputTokens,
    long OutputTokens,
    long CacheCreationInputTokens,
    long CacheReadInputTokens,
    long CostNanoUsd)
{
    public static UsageTotals Zero { get; } = new(0, 0, 0, 0, 0, 0, 0);

    public decimal CostUsd => CostNanoUsd / 1_000_000_000m;

    /// <summary>Every token the requests consumed or produced (input, output and both cache counts).</summary>
    public long Tokens => InputTokens + OutputTokens + CacheCreationInputTokens + CacheReadInputTokens;

    public UsageTotals Add(UsageTotals other) => new(
        Requests + other.Requests,
        Errors + other.Errors,
        InputTokens + other.InputTokens,
        OutputTokens + other.OutputTokens,
        CacheCreationInputTokens + other.CacheCreationInputTokens,
        CacheReadInputTokens + other.CacheReadInputTokens,
        CostNanoUsd + other.CostNanoUsd);
}

/// <summary>One bucket of one group: the grouped columns (e.g. <c>model</c>, <c>credential_id</c>) are in <see cref="Group"/>.</summary>
public sealed class UsageRow
{
    public DateTimeOffset BucketStart { get; init; }
    public long Requests { get; init; }
    public long Errors { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public long CacheCreationInputTokens { get; init; }
    public long CacheReadInputTokens { get; init; }
    public long CostNanoUsd { get; init; }
    public decimal CostUsd { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement> Group { get; init; } = [];

    [JsonIgnore]
    public UsageTotals Totals => new(Requests, Errors, InputTokens, OutputTokens, CacheCreationInputTokens, CacheReadInputTokens, CostNanoUsd);

    /// <summary>The text of a grouped column; null when the requests had none (e.g. no agent).</summary>
    public string? GroupValue(string column) =>
        Group.TryGetValue(column, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
            ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText()
            : null;
}

/// <summary><c>GET /admin/usage</c>.</summary>
public sealed record UsageReport(
    DateTimeOffset From,
    DateTimeOffset To,
    string Granularity,
    IReadOnlyList<string> GroupBy,
    IReadOnlyList<UsageRow> Data,
    UsageTotals Totals);

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
    IReadOnlyList<CredentialStats> TopCredentials);

/// <summary>The filters every usage route takes; null means "any".</summary>
public sealed record UsageFilter(string? CredentialId = null, string? OwnerId = null, string? OrgId = null, string? AgentName = null, string? DeviceId = null, string? Model = null)
{
    public bool IsEmpty => this == new UsageFilter();

    public IEnumerable<KeyValuePair<string, string?>> Parameters =>
    [
        new("credential_id", CredentialId),
        new("owner_id", OwnerId),
        new("org_id", OrgId),
        new("agent_name", AgentName),
        new("device_id", DeviceId),
        new("model", Model),
    ];
}
