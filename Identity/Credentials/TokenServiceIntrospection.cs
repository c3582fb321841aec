using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;

namespace LlmGateway.Identity.Credentials;

/// <summary>
/// Asks TokenService about a credential Redis does not know (or when Redis is down):
/// <c>POST /internal/introspect {"hash":"…"}</c> → 200 projection JSON | 404 (with why a known one is refused).
/// <paramref name="client"/> gives the client to send with (base address TokenService, the internal API key set).
/// </summary>
public sealed partial class TokenServiceIntrospection(
    Func<HttpClient> client,
    TimeSpan timeout,
    ILogger<TokenServiceIntrospection> logger)
{
    private readonly TimeSpan _timeout = timeout;

    public async Task<CredentialLookup> FindAsync(string hashHex)
    {
        using var timeout = new CancellationTokenSource(_timeout);
        try
        {
            var http = client();
            using var response = await http.PostAsJsonAsync(
                "/internal/introspect",
                new IntrospectionRequest(hashHex),
                IntrospectionJsonContext.Default.IntrospectionRequest,
                timeout.Token);

            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                // error.type says why a known credential is refused (revoked, expired, replaced); not_found: unknown.
                return CredentialLookup.Refused(await RefusalAsync(response, timeout.Token));
            }

            if (!response.IsSuccessStatusCode)
            {
                LogIntrospectionFailed(logger, (int)response.StatusCode, "unexpected status");
                return CredentialLookup.Unavailable;
            }

            var projection = CredentialProjectionJson.Normalize(
                await response.Content.ReadFromJsonAsync(CredentialProjectionJson.TypeInfo, timeout.Token));
            return projection is null ? CredentialLookup.NotFound : CredentialLookup.Found(projection);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException)
        {
            LogIntrospectionFailed(logger, 0, ex.GetType().Name + ": " + ex.Message);
            return CredentialLookup.Unavailable;
        }
    }

    private static async Task<CredentialRefusal> RefusalAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), default, cancellationToken);
            return body.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                ? type.GetString() switch
                {
                    IntrospectionRefusals.Revoked => CredentialRefusal.Revoked,
                    IntrospectionRefusals.Expired => CredentialRefusal.Expired,
                    IntrospectionRefusals.Replaced => CredentialRefusal.Replaced,
                    _ => CredentialRefusal.Unknown,
                }
                : CredentialRefusal.Unknown;
        }
        catch (JsonException)
        {
            return CredentialRefusal.Unknown;
        }
    }

    [LoggerMessage(1111, LogLevel.Warning, "TokenService introspection failed (status {Status}): {Reason}")]
    private static partial void LogIntrospectionFailed(ILogger logger, int status, string reason);
}

/// <summary>The introspection call's body.</summary>
internal sealed record IntrospectionRequest([property: JsonPropertyName("hash")] string Hash);

[JsonSerializable(typeof(IntrospectionRequest))]
internal sealed partial class IntrospectionJsonContext : JsonSerializerContext;
