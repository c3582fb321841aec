using System.Text.Json.Serialization;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Gateway.Credentials;

[JsonSourceGenerationOptions(
    Converters = [typeof(CredentialKindJsonConverter)],
    PropertyNameCaseInsensitive = true,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(CredentialProjection))]
[JsonSerializable(typeof(IntrospectionRequest))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;

internal sealed record IntrospectionRequest([property: JsonPropertyName("hash")] string Hash);
