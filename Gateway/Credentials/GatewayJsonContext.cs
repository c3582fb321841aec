using System.Text.Json.Serialization;

namespace LlmGateway.Gateway.Credentials;

[JsonSerializable(typeof(IntrospectionRequest))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;

internal sealed record IntrospectionRequest([property: JsonPropertyName("hash")] string Hash);
