using System.Globalization;
using System.Net;

namespace LlmGateway.ServiceDefaults.ServiceDiscovery;

/// <summary>
/// One configured endpoint of a service: either a full URI (<c>http://localhost:5123</c>, possibly with a path
/// prefix) or a bare <c>host:port</c>, which keeps the request's own scheme.
/// </summary>
public sealed class ServiceEndpoint
{
    private ServiceEndpoint(Uri? uri, string host, int port)
    {
        Uri = uri;
        Host = host;
        Port = port;
    }

    /// <summary>The endpoint as a URI, or null for a bare host:port.</summary>
    public Uri? Uri { get; }

    public string Host { get; }

    /// <summary>The port, or 0 to keep the request's port (the scheme's default).</summary>
    public int Port { get; }

    public static bool TryParse(string value, out ServiceEndpoint? endpoint)
    {
        endpoint = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        value = value.Trim();
        if (!value.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate("fakescheme://" + value, UriKind.Absolute, out var hostPort) || hostPort.Host.Length == 0
                || hostPort.AbsolutePath != "/" || hostPort.Query.Length != 0)
            {
                return false;
            }

            var host = IPAddress.TryParse(hostPort.Host, out var address) ? address.ToString() : hostPort.Host;
            endpoint = new ServiceEndpoint(null, host, hostPort.Port > 0 ? hostPort.Port : 0);
            return true;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            return false;
        }

        endpoint = new ServiceEndpoint(uri, uri.Host, uri.Port > 0 ? uri.Port : 0);
        return true;
    }

    /// <summary>
    /// Rewrites <paramref name="requestUri"/> to this endpoint: scheme (for a URI endpoint), host and port are
    /// replaced, the endpoint's path prefix is put in front of the request path, and path and query are kept.
    /// A bare host:port turns a multi-scheme request (<c>https+http</c>) into its first scheme.
    /// </summary>
    public Uri Apply(Uri requestUri)
    {
        ArgumentNullException.ThrowIfNull(requestUri);

        var result = new UriBuilder(requestUri);
        if (Uri is { } endpoint)
        {
            result.Scheme = endpoint.Scheme;
            result.Host = endpoint.Host;
            if (Port > 0)
            {
                result.Port = Port;
            }

            if (endpoint.AbsolutePath.Length > 1)
            {
                result.Path = $"{endpoint.AbsolutePath.TrimEnd('/')}/{requestUri.AbsolutePath.TrimStart('/')}";
            }
        }
        else
        {
            result.Host = Host;
            result.Scheme = FirstScheme(requestUri.Scheme);
            if (Port > 0)
            {
                result.Port = Port;
            }
        }

        return result.Uri;
    }

    internal static string FirstScheme(string scheme)
    {
        var plus = scheme.IndexOf('+', StringComparison.Ordinal);
        return plus > 0 ? scheme[..plus] : scheme;
    }

    public override string ToString() =>
        Uri?.ToString() ?? (Port > 0 ? string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}") : Host);
}
