namespace LlmGateway.ServiceDefaults.ServiceDiscovery;

/// <summary>
/// What a request URI asks service discovery for, parsed as Microsoft.Extensions.ServiceDiscovery does:
/// the scheme is split on '+' (<c>https+http://catalog</c> prefers https, then http), and a host of the form
/// <c>_endpoint.service</c> names an endpoint of the service.
/// </summary>
public sealed record ServiceEndpointQuery(IReadOnlyList<string> Schemes, string ServiceName, string? EndpointName)
{
    public static ServiceEndpointQuery Parse(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri)
        {
            throw new ArgumentException($"Service discovery needs an absolute URI, got '{uri}'.", nameof(uri));
        }

        var host = uri.IdnHost;
        var separator = host.IndexOf('.', StringComparison.Ordinal);
        string serviceName;
        string? endpointName = null;
        if (host.StartsWith('_') && separator > 1 && host[^1] != '.')
        {
            endpointName = host[1..separator];
            serviceName = host[(separator + 1)..];
        }
        else
        {
            serviceName = host;
        }

        return new ServiceEndpointQuery(uri.Scheme.Split('+'), serviceName, endpointName);
    }
}
