namespace LlmGateway.Gateway.Extensions;

/// <summary>
/// Resolves Aspire-style service addresses once, at start-up: <c>http://upstream</c> becomes the address in
/// <c>services:upstream:http:0</c>; <c>https+http://name</c> prefers the https endpoint. A name with no
/// configuration passes through unchanged (a DNS name, as in Kubernetes). The hot path uses the resolved address
/// directly, so no per-request discovery hop is needed.
/// </summary>
internal sealed class ServiceUriResolver(IConfiguration configuration)
{
    public Uri Resolve(Uri address)
    {
        var schemes = address.Scheme.Split('+');
        foreach (var scheme in schemes)
        {
            var endpoint = configuration[$"services:{address.Host}:{scheme}:0"];
            if (!string.IsNullOrEmpty(endpoint) && Uri.TryCreate(endpoint, UriKind.Absolute, out var resolved))
            {
                var builder = new UriBuilder(resolved)
                {
                    Path = CombinePaths(resolved.AbsolutePath, address.AbsolutePath),
                    Query = address.Query.TrimStart('?'),
                };
                return builder.Uri;
            }
        }

        if (schemes.Length > 1)
        {
            // No configuration for a multi-scheme address: use the first scheme against the DNS name.
            return new UriBuilder(address) { Scheme = schemes[0], Port = address.IsDefaultPort ? -1 : address.Port }.Uri;
        }

        return address;
    }

    private static string CombinePaths(string left, string right) =>
        left.TrimEnd('/') + "/" + right.TrimStart('/');
}
