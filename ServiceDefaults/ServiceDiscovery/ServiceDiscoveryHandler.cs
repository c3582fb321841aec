namespace LlmGateway.ServiceDefaults.ServiceDiscovery;

/// <summary>
/// Rewrites each request's logical URI (<c>http://tokenservice/…</c>) to a concrete endpoint just before it is
/// sent, and puts the logical URI back afterwards so the caller's message is unchanged.
/// </summary>
public sealed class ServiceDiscoveryHandler : DelegatingHandler
{
    private readonly ServiceEndpointResolver _resolver;

    public ServiceDiscoveryHandler(ServiceEndpointResolver resolver) => _resolver = resolver;

    public ServiceDiscoveryHandler(ServiceEndpointResolver resolver, HttpMessageHandler innerHandler)
        : base(innerHandler) => _resolver = resolver;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var original = request.RequestUri;
        if (original is { IsAbsoluteUri: true })
        {
            request.RequestUri = _resolver.Resolve(original);
        }

        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            request.RequestUri = original;
        }
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var original = request.RequestUri;
        if (original is { IsAbsoluteUri: true })
        {
            request.RequestUri = _resolver.Resolve(original);
        }

        try
        {
            return base.Send(request, cancellationToken);
        }
        finally
        {
            request.RequestUri = original;
        }
    }
}
