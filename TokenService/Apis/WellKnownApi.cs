using System.Security.Cryptography;
using System.Text.Json.Serialization;
using LlmGateway.TokenService.Accounts;
using LlmGateway.TokenService.Options;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// TokenService as an OIDC issuer of the sign-in JWTs, so any service validates them with JwtBearer from the metadata
/// address alone (<c>Identity:Issuers:local:MetadataAddress=http://tokenservice/.well-known/openid-configuration</c>).
/// </summary>
/// <remarks>
/// <code>
/// GET /.well-known/openid-configuration  {issuer, jwks_uri, id_token_signing_alg_values_supported, …}
/// GET /.well-known/jwks.json             {keys: [{kty, use, alg, kid, n, e}]}: public halves only, current and
///                                        retired-but-still-valid keys
/// </code>
/// </remarks>
public static class WellKnownApi
{
    public static IEndpointRouteBuilder MapWellKnownApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/openid-configuration", Configuration);
        app.MapGet("/.well-known/jwks.json", Jwks);
        return app;
    }

    public static Ok<OpenIdConfiguration> Configuration(IOptions<AccountOptions> options, HttpContext http)
    {
        http.Response.Headers.CacheControl = "public, max-age=300";
        return TypedResults.Ok(new OpenIdConfiguration(
            options.Value.Jwt.Issuer, BaseUrl(http) + "/.well-known/jwks.json", [SigningKey.Algorithm], ["public"], ["id_token"],
            ["sub", "email", "name", "role", "org_id"]));
    }

    public static async Task<Ok<JsonWebKeySetView>> Jwks(SigningKeyStore keys, HttpContext http)
    {
        var published = await keys.PublishedAsync(http.RequestAborted);
        // Short: a validator that sees an unknown kid fetches again anyway, and a rotation should be visible soon.
        http.Response.Headers.CacheControl = "public, max-age=60";
        return TypedResults.Ok(new JsonWebKeySetView(published.Select(Public).ToList()));
    }

    private static JsonWebKeyView Public(SigningKey key)
    {
        var parameters = key.Key.Rsa.ExportParameters(includePrivateParameters: false);
        return new JsonWebKeyView("RSA", "sig", SigningKey.Algorithm, key.Kid,
            Base64UrlEncoder.Encode(parameters.Modulus), Base64UrlEncoder.Encode(parameters.Exponent));
    }

    /// <summary>The address the caller used (as the Gateway forwarded it), so the JWKS link works from where the document was read.</summary>
    private static string BaseUrl(HttpContext http)
    {
        var headers = http.Request.Headers;
        var forwardedScheme = headers["X-Forwarded-Proto"].LastOrDefault();
        var scheme = forwardedScheme is "https" or "http" ? forwardedScheme : http.Request.Scheme;
        var host = headers["X-Forwarded-Host"].LastOrDefault() is { Length: > 0 } forwardedHost ? forwardedHost : http.Request.Host.Value;
        return $"{scheme}://{host}";
    }
}

public sealed record OpenIdConfiguration(
    [property: JsonPropertyName("issuer")] string Issuer,
    [property: JsonPropertyName("jwks_uri")] string JwksUri,
    [property: JsonPropertyName("id_token_signing_alg_values_supported")] IReadOnlyList<string> IdTokenSigningAlgValuesSupported,
    [property: JsonPropertyName("subject_types_supported")] IReadOnlyList<string> SubjectTypesSupported,
    [property: JsonPropertyName("response_types_supported")] IReadOnlyList<string> ResponseTypesSupported,
    [property: JsonPropertyName("claims_supported")] IReadOnlyList<string> ClaimsSupported);

public sealed record JsonWebKeySetView([property: JsonPropertyName("keys")] IReadOnlyList<JsonWebKeyView> Keys);

public sealed record JsonWebKeyView(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("use")] string Use,
    [property: JsonPropertyName("alg")] string Alg,
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("n")] string N,
    [property: JsonPropertyName("e")] string E);
