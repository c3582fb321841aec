using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace LlmGateway.Identity;

/// <summary>
/// Reads a bare JWKS document (an issuer configured by <c>JwksUrl</c> alone, which publishes no OpenID configuration) into
/// the configuration JwtBearer's <see cref="ConfigurationManager{T}"/> caches and refreshes, so rotation works the same
/// way as for a metadata address.
/// </summary>
public sealed class JwksConfigurationRetriever(string? issuer) : IConfigurationRetriever<OpenIdConnectConfiguration>
{
    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
    {
        var document = await retriever.GetDocumentAsync(address, cancel).ConfigureAwait(false);
        var keys = new JsonWebKeySet(document);
        var configuration = new OpenIdConnectConfiguration { Issuer = issuer, JwksUri = address, JsonWebKeySet = keys };
        foreach (var key in keys.GetSigningKeys())
        {
            configuration.SigningKeys.Add(key);
        }

        return configuration;
    }
}
