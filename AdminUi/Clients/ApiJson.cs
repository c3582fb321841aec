using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmGateway.AdminUi.Clients;

/// <summary>The wire format of the APIs: snake_case names, enums as snake_case strings, nulls left out of requests.</summary>
public static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
