namespace LlmGateway.Gateway.Forwarding;

/// <summary>One model provider endpoint. The key is held here only; <see cref="ToString"/> never shows it.</summary>
internal sealed class UpstreamEndpoint(string name, Uri baseUri, string? apiKey)
{
    /// <summary>Name in usage events, metrics and logs.</summary>
    public string Name { get; } = name;

    /// <summary>Resolved base address; request paths are appended to its path.</summary>
    public Uri BaseUri { get; } = baseUri;

    /// <summary>Base address text without a trailing slash, for building request URIs cheaply.</summary>
    public string BasePrefix { get; } = baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/');

    public string? ApiKey { get; } = apiKey;

    public Uri BuildUri(string pathAndQuery) => new(BasePrefix + pathAndQuery, UriKind.Absolute);

    /// <summary>
    /// The URI for one of the few fixed targets (model routes, with or without <c>?beta=true</c>), parsed once.
    /// Bounded, so odd query strings cannot grow it.
    /// </summary>
    public Uri GetFixedUri(string pathAndQuery)
    {
        if (_fixedUris.TryGetValue(pathAndQuery, out var uri))
        {
            return uri;
        }

        uri = BuildUri(pathAndQuery);
        if (_fixedUris.Count < MaxFixedUris && pathAndQuery.Length <= 128)
        {
            _fixedUris.TryAdd(pathAndQuery, uri);
        }

        return uri;
    }

    private const int MaxFixedUris = 64;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Uri> _fixedUris = new(StringComparer.Ordinal);

    public override string ToString() => Name + " (" + BasePrefix + ")";
}
