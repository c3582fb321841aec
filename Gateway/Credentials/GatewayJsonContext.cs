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

/// <summary>
/// Reads projections. The source generator sets every init-only property, so absent lists come back null rather than
/// with the contract's defaults; <see cref="Read"/> restores them.
/// </summary>
internal static class ProjectionJson
{
    public static CredentialProjection? Read(ReadOnlySpan<byte> json) =>
        Normalize(System.Text.Json.JsonSerializer.Deserialize(json, GatewayJsonContext.Default.CredentialProjection));

    public static CredentialProjection? Normalize(CredentialProjection? projection) =>
        projection is null || (projection.Models is not null && projection.Routes is not null && projection.Limits is not null)
            ? projection
            : projection with
            {
                Models = projection.Models ?? ["*"],
                Routes = projection.Routes ?? ["*"],
                Limits = projection.Limits ?? new CredentialLimits(),
            };
}

internal sealed record IntrospectionRequest([property: JsonPropertyName("hash")] string Hash);
