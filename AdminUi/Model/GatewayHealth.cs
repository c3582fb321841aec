using System.Text.Json.Serialization;

namespace LlmGateway.AdminUi.Model;

/// <summary>
/// The gateway's <c>GET /health</c> (Gateway/Apis/HealthApi.cs owns it; camelCase, after seed 000's
/// <c>anthropicKeySet</c>).
/// </summary>
public sealed record GatewayHealth
{
    [JsonPropertyName("status")] public string? Status { get; init; }
    [JsonPropertyName("service")] public string? Service { get; init; }
    [JsonPropertyName("anthropicKeySet")] public bool? AnthropicKeySet { get; init; }
    [JsonPropertyName("upstream")] public string? Upstream { get; init; }
    [JsonPropertyName("redis")] public string? Redis { get; init; }
    [JsonPropertyName("usageSpoolPending")] public bool? UsageSpoolPending { get; init; }
    [JsonPropertyName("checks")] public IReadOnlyList<HealthCheckEntry> Checks { get; init; } = [];
}

public sealed record HealthCheckEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("description")] string? Description);
