using System.Net;
using LlmGateway.Gateway.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// The upstreams a request may go to and the order they are tried in. Today there is one (from <c>Upstream</c>
/// configuration, resolved once through service discovery so the hot path needs no discovery hop); several upstreams, a circuit breaker per upstream and fallback slot in here (<see cref="Select"/>)
/// without changing the forwarder.
/// </summary>
internal sealed class UpstreamCatalog
{
    public UpstreamCatalog(IOptions<UpstreamOptions> options, ServiceEndpointResolver resolver)
    {
        var o = options.Value;
        var baseUri = Resolve(resolver, o.BaseUrl!);
        Primary = new UpstreamEndpoint(string.IsNullOrEmpty(o.Name) ? o.BaseUrl!.Host : o.Name, baseUri, o.ApiKey);
    }

    public UpstreamEndpoint Primary { get; }

    /// <summary>The upstream for a given attempt (0 = first try); <paramref name="previous"/> is the one that just failed.</summary>
    public UpstreamEndpoint Select(int attempt, UpstreamEndpoint? previous) => Primary;

    /// <summary>
    /// A service name (<c>http://upstream</c>) becomes the address configuration gives it
    /// (<c>services__upstream__http__0</c>); anything else, such as <c>https://api.anthropic.com</c>, passes through.
    /// </summary>
    private static Uri Resolve(ServiceEndpointResolver resolver, Uri address)
    {
        var source = resolver.GetEndpointsAsync(address.GetLeftPart(UriPartial.Authority), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var resolved = source.Endpoints.FirstOrDefault()?.EndPoint switch
        {
            UriEndPoint uri => uri.Uri,
            DnsEndPoint dns => new UriBuilder(address.Scheme, dns.Host, dns.Port).Uri,
            IPEndPoint ip => new UriBuilder(address.Scheme, ip.Address.ToString(), ip.Port).Uri,
            _ => null,
        };
        return resolved is null ? address : new Uri(resolved, address.PathAndQuery);
    }
}
