using LlmGateway.Gateway.Configuration;
using LlmGateway.ServiceDefaults.ServiceDiscovery;
using Microsoft.Extensions.Options;

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
        var baseUri = resolver.Resolve(o.BaseUrl!);
        Primary = new UpstreamEndpoint(string.IsNullOrEmpty(o.Name) ? o.BaseUrl!.Host : o.Name, baseUri, o.ApiKey);
        All = [Primary];
    }

    public UpstreamEndpoint Primary { get; }

    public IReadOnlyList<UpstreamEndpoint> All { get; }

    /// <summary>The upstream for a given attempt (0 = first try); <paramref name="previous"/> is the one that just failed.</summary>
    public UpstreamEndpoint Select(int attempt, UpstreamEndpoint? previous) => Primary;
}
