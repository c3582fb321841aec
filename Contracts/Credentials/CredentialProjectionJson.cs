using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace LlmGateway.Contracts.Credentials;

/// <summary>
/// The one reading of a credential projection, for every service that resolves credentials (the Gateway, the
/// UsageWorker): the Redis value TokenService writes (<see cref="RedisKeys.Credential"/>) and TokenService's
/// introspection answer. Lenient where a harmless style change in the writer must not become an outage: any
/// <see cref="CredentialKind"/> spelling (<see cref="CredentialKindJsonConverter"/>), property names in any case,
/// numbers as strings.
/// </summary>
public static class CredentialProjectionJson
{
    public static JsonTypeInfo<CredentialProjection> TypeInfo => CredentialProjectionJsonContext.Default.CredentialProjection;

    public static CredentialProjection? Read(ReadOnlySpan<byte> json) => Normalize(JsonSerializer.Deserialize(json, TypeInfo));

    /// <summary>
    /// The one writing (TokenService's, to Redis): the contract's property names, kinds by name, times in UTC
    /// (<see cref="UtcTimestampConverter"/>), nulls left out, non-ASCII text as it is.
    /// </summary>
    public static string Write(CredentialProjection projection) => JsonSerializer.Serialize(projection, WriterOptions);

    private static readonly JsonSerializerOptions WriterOptions = CreateWriterOptions();

    private static JsonSerializerOptions CreateWriterOptions()
    {
        var options = new JsonSerializerOptions(CredentialProjectionJsonContext.Default.Options)
        {
            PropertyNameCaseInsensitive = false,
            NumberHandling = JsonNumberHandling.Strict,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new UtcTimestampConverter());
        options.MakeReadOnly();
        return options;
    }

    /// <summary>
    /// The source generator sets every init-only property, so absent lists come back null rather than with the
    /// contract's defaults; this restores them.
    /// </summary>
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

[JsonSourceGenerationOptions(
    Converters = [typeof(CredentialKindJsonConverter)],
    PropertyNameCaseInsensitive = true,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(CredentialProjection))]
internal sealed partial class CredentialProjectionJsonContext : JsonSerializerContext;
