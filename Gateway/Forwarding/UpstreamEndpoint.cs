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

    public override string ToString() => Name + " (" + BasePrefix + ")";
}
