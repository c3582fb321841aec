using LlmGateway.Gateway.Routing;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// One routable target: a model provider endpoint with one key (or deployment). The key is held here only;
/// <see cref="ToString"/> never shows it.
/// </summary>
internal sealed class UpstreamEndpoint(
    string name,
    Uri baseUri,
    string? apiKey,
    string? provider = null,
    UpstreamKind kind = UpstreamKind.Anthropic,
    string? authHeader = null,
    string? authScheme = null,
    TimeSpan? firstByteTimeout = null)
{
    /// <summary>Target name in usage events, metrics, logs and the breaker listing (<c>{upstream}</c>, or <c>{upstream}#{n}</c> for its n-th key).</summary>
    public string Name { get; } = name;

    /// <summary>The configured upstream (provider) this target belongs to.</summary>
    public string Provider { get; } = provider ?? name;

    /// <summary>The wire format the target speaks; a caller of the other format needs translation.</summary>
    public UpstreamKind Kind { get; } = kind;

    /// <summary>Header carrying the key (<c>x-api-key</c>, <c>Authorization</c>, <c>api-key</c>, …).</summary>
    public string AuthHeader { get; } = authHeader ?? (kind == UpstreamKind.OpenAI ? "Authorization" : "x-api-key");

    /// <summary>Prefix of the key in <see cref="AuthHeader"/> (<c>Bearer </c> for <c>Authorization</c>).</summary>
    public string AuthScheme { get; } = authScheme
        ?? (string.Equals(authHeader ?? (kind == UpstreamKind.OpenAI ? "Authorization" : "x-api-key"), "Authorization", StringComparison.OrdinalIgnoreCase) ? "Bearer " : "");

    /// <summary>This target's time-to-first-byte limit; null uses <c>Upstream:FirstByteTimeout</c>.</summary>
    public TimeSpan? FirstByteTimeout { get; } = firstByteTimeout;

    /// <summary>Set by the catalog: the breaker guarding this target.</summary>
    public CircuitBreaker? Breaker { get; set; }

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
