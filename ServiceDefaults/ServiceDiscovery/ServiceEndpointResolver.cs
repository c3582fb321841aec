using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;

namespace LlmGateway.ServiceDefaults.ServiceDiscovery;

/// <summary>
/// Resolves logical service URIs the way Aspire's configuration-based service discovery does, so the same
/// service code runs under our AppHost, a real Aspire AppHost, Kubernetes or Container Apps:
/// <list type="bullet">
/// <item><c>http://name</c>, <c>https+http://name</c> and <c>http://_endpoint.name</c> look in configuration
/// section <c>services:name</c> (env <c>services__name__endpoint__0</c>);</item>
/// <item>without an endpoint name the candidate sections are <c>default</c>, then each scheme in order; the first
/// that exists wins; with an endpoint name only that section is read;</item>
/// <item>a section holds one value or numbered values (<c>0</c>, <c>1</c>, …) that are used round-robin;
/// a value without <c>://</c> is a host:port;</item>
/// <item>among URI values only those with the most preferred of the request's schemes are kept;</item>
/// <item>a name with nothing configured passes through unchanged as a DNS name (<c>https+http</c> becomes https).</item>
/// </list>
/// Results are cached per scheme and authority until the configuration reloads.
/// </summary>
public sealed partial class ServiceEndpointResolver : IDisposable
{
    public const string SectionName = "services";
    private const string DefaultEndpointName = "default";

    // Callers that reach arbitrary hosts (e.g. user-supplied URLs) must not grow the cache without bound.
    private const int MaxCachedAuthorities = 1024;

    private readonly IConfiguration _configuration;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ResolvedService> _cache = new(StringComparer.OrdinalIgnoreCase);
    private readonly IDisposable _reloadRegistration;

    public ServiceEndpointResolver(IConfiguration configuration, ILogger<ServiceEndpointResolver>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _configuration = configuration;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _reloadRegistration = ChangeToken.OnChange(configuration.GetReloadToken, _cache.Clear);
    }

    /// <summary>
    /// The concrete URI to call for <paramref name="uri"/>: path and query kept, scheme/host/port taken from
    /// the chosen endpoint and its path prefix prepended. Returns <paramref name="uri"/> itself when nothing changes.
    /// </summary>
    /// <exception cref="InvalidOperationException">A configured endpoint value cannot be parsed.</exception>
    public Uri Resolve(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri)
        {
            throw new ArgumentException($"Service discovery needs an absolute URI, got '{uri}'.", nameof(uri));
        }

        // Literal addresses are never service names.
        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || uri.Host.Length == 0)
        {
            return uri;
        }

        var key = uri.GetLeftPart(UriPartial.Authority);
        if (_cache.Count >= MaxCachedAuthorities && !_cache.ContainsKey(key))
        {
            _cache.Clear();
        }

        var service = _cache.GetOrAdd(key, static (_, state) => state.resolver.Load(state.uri), (resolver: this, uri));
        return service.Next()?.Apply(uri) ?? service.PassThrough(uri);
    }

    /// <inheritdoc cref="Resolve(Uri)"/>
    public Uri Resolve(string uri) => Resolve(new Uri(uri, UriKind.Absolute));

    /// <summary>
    /// Every endpoint configuration gives for <paramref name="uri"/>'s service (empty when the name passes through),
    /// e.g. to hand a peer's address to something that is not an HttpClient.
    /// </summary>
    public IReadOnlyList<ServiceEndpoint> GetEndpoints(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return Load(uri).Endpoints;
    }

    public void Dispose() => _reloadRegistration.Dispose();

    private ResolvedService Load(Uri uri)
    {
        var query = ServiceEndpointQuery.Parse(uri);
        var service = _configuration.GetSection(SectionName).GetSection(query.ServiceName);
        if (!service.Exists())
        {
            Log.PassingThrough(_logger, query.ServiceName, $"{SectionName}:{query.ServiceName}");
            return ResolvedService.None;
        }

        IConfigurationSection? section = null;
        var candidates = query.EndpointName is { } endpointName ? [endpointName] : (string[])[DefaultEndpointName, .. query.Schemes];
        foreach (var candidate in candidates)
        {
            var candidateSection = service.GetSection(candidate);
            if (candidateSection.Exists())
            {
                section = candidateSection;
                break;
            }
        }

        if (section is null)
        {
            Log.PassingThrough(_logger, query.ServiceName, $"{service.Path}:{string.Join('|', candidates)}");
            return ResolvedService.None;
        }

        var configured = new List<ServiceEndpoint>();
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            configured.Add(ParseValue(section));
        }
        else
        {
            foreach (var child in section.GetChildren())
            {
                if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    throw new InvalidOperationException(
                        $"Service discovery: configuration section '{section.Path}' has the non-numeric key '{child.Key}'; use '{section.Path}:0', '{section.Path}:1', ….");
                }

                configured.Add(ParseValue(child));
            }
        }

        var endpoints = KeepPreferredSchemes(configured, query.Schemes);
        if (endpoints.Count == 0)
        {
            Log.PassingThrough(_logger, query.ServiceName, section.Path);
            return ResolvedService.None;
        }

        Log.Resolved(_logger, uri.GetLeftPart(UriPartial.Authority), section.Path, string.Join(", ", endpoints));
        return new ResolvedService(endpoints);
    }

    private static ServiceEndpoint ParseValue(IConfigurationSection section)
    {
        if (section.Value is not { } value || !ServiceEndpoint.TryParse(value, out var endpoint))
        {
            throw new InvalidOperationException(
                $"Service discovery: configuration value '{section.Path}' = '{section.Value}' is neither a URI nor host:port.");
        }

        return endpoint!;
    }

    private static List<ServiceEndpoint> KeepPreferredSchemes(List<ServiceEndpoint> endpoints, IReadOnlyList<string> schemes)
    {
        var best = schemes.Count;
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Uri is { } uri && IndexOf(schemes, uri.Scheme) is var index and >= 0 && index < best)
            {
                best = index;
            }
        }

        return endpoints.FindAll(endpoint => endpoint.Uri is not { } uri || IndexOf(schemes, uri.Scheme) is var index and >= 0 && index <= best);
    }

    private static int IndexOf(IReadOnlyList<string> schemes, string scheme)
    {
        for (var i = 0; i < schemes.Count; i++)
        {
            if (string.Equals(schemes[i], scheme, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    private sealed class ResolvedService(List<ServiceEndpoint> endpoints)
    {
        public static readonly ResolvedService None = new([]);

        private uint _next;

        public IReadOnlyList<ServiceEndpoint> Endpoints => endpoints;

        public ServiceEndpoint? Next() => endpoints.Count switch
        {
            0 => null,
            1 => endpoints[0],
            _ => endpoints[(int)((Interlocked.Increment(ref _next) - 1) % (uint)endpoints.Count)],
        };

        /// <summary>Nothing configured: keep the name as a DNS name, drop the endpoint prefix, pick the first scheme.</summary>
        public Uri PassThrough(Uri uri)
        {
            var query = ServiceEndpointQuery.Parse(uri);
            var scheme = ServiceEndpoint.FirstScheme(uri.Scheme);
            if (query.EndpointName is null && scheme.Length == uri.Scheme.Length)
            {
                return uri;
            }

            return new UriBuilder(uri) { Scheme = scheme, Host = query.ServiceName }.Uri;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Debug,
            Message = "Service discovery: {Authority} resolves from '{ConfigPath}' to {Endpoints}.")]
        public static partial void Resolved(ILogger logger, string authority, string configPath, string endpoints);

        [LoggerMessage(EventId = 2, Level = LogLevel.Debug,
            Message = "Service discovery: nothing configured for '{ServiceName}' at '{ConfigPath}'; passing the name through as a DNS name.")]
        public static partial void PassingThrough(ILogger logger, string serviceName, string configPath);
    }
}
