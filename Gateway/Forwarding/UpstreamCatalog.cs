using System.ComponentModel.DataAnnotations;
using System.Net;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// Every upstream the gateway may forward to, each resolved once through service discovery so the hot path needs
/// no discovery hop: the default one from <c>Upstream</c> (an Anthropic upstream serving every model, exactly as
/// before several upstreams existed) and the named ones from <c>Upstreams:&lt;name&gt;</c>. Each key of an upstream
/// is a target with its own circuit breaker; <see cref="UpstreamRouter"/> picks among them per request.
/// </summary>
internal sealed class UpstreamCatalog
{
    public UpstreamCatalog(
        IOptions<UpstreamOptions> options, IOptions<RoutingOptions> routing, IConfiguration configuration, ServiceEndpointResolver resolver,
        CircuitBreakerRegistry breakers)
    {
        var o = options.Value;
        var providers = new List<UpstreamProvider>();
        foreach (var section in configuration.GetSection(RoutingOptions.UpstreamsSectionName).GetChildren())
        {
            var provider = section.Get<UpstreamProviderOptions>() ?? new UpstreamProviderOptions();
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(provider, new ValidationContext(provider), results, validateAllProperties: true))
            {
                throw new OptionsValidationException(section.Path, typeof(UpstreamProviderOptions),
                    results.Select(r => $"{section.Path}: {r.ErrorMessage}"));
            }

            if (section.GetSection("Pricing").Exists())
            {
                // Both the Gateway (budgets) and the UsageWorker (recorded cost) must price alike: one shared section.
                throw new OptionsValidationException(section.Path, typeof(UpstreamProviderOptions),
                    [$"{section.Path}:Pricing: an upstream's prices go in Pricing:Upstreams:{section.Key}:<model> (shared with the UsageWorker)."]);
            }

            var keys = provider.Keys().ToArray();
            var baseUri = Resolve(resolver, provider.BaseUrl!);
            var targets = new UpstreamEndpoint[Math.Max(1, keys.Length)];
            for (var i = 0; i < targets.Length; i++)
            {
                var name = targets.Length == 1 ? section.Key : section.Key + "#" + (i + 1);
                targets[i] = new UpstreamEndpoint(name, baseUri, keys.Length == 0 ? null : keys[i], section.Key, provider.Kind,
                    provider.AuthHeader, provider.AuthScheme, provider.FirstByteTimeout);
            }

            providers.Add(new UpstreamProvider(section.Key, provider.Kind, [.. provider.Models], provider.Weight, provider.Priority, targets));
        }

        var defaultName = string.IsNullOrEmpty(o.Name) ? o.BaseUrl!.Host : o.Name;
        var named = providers.Find(p => string.Equals(p.Name, defaultName, StringComparison.Ordinal));
        if (named is not null)
        {
            // Upstreams:<name> describes the default upstream itself (more keys, patterns, weight): no second copy.
            Primary = named.Targets[0];
        }
        else
        {
            Primary = new UpstreamEndpoint(defaultName, Resolve(resolver, o.BaseUrl!), o.ApiKey);
            // The default upstream serves the models no named upstream serves.
            providers.Add(new UpstreamProvider(defaultName, UpstreamKind.Anthropic, [], 1, 0, [Primary], OnlyUnclaimed: true));
        }

        Providers = providers;
        Targets = [.. providers.SelectMany(p => p.Targets)];
        // Named upstreams' targets have breakers unless they are turned off; the default Upstream's target keeps
        // its behaviour from before breakers existed (retried, never skipped) unless they are turned on explicitly.
        var enabled = routing.Value.CircuitBreaker.Enabled;
        foreach (var provider in providers)
        {
            foreach (var target in provider.Targets)
            {
                target.Breaker = breakers.Register(target.Name, target.Provider, enabled ?? !provider.OnlyUnclaimed);
            }
        }

        Aliases = routing.Value.Aliases;
    }

    /// <summary>The default upstream (<c>Upstream</c>): pass-through routes and the model list go here.</summary>
    public UpstreamEndpoint Primary { get; }

    public IReadOnlyList<UpstreamProvider> Providers { get; }

    public IReadOnlyList<UpstreamEndpoint> Targets { get; }

    /// <summary>Model aliases (<c>Routing:Aliases</c>).</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; }

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

/// <summary>One configured upstream and its targets.</summary>
internal sealed record UpstreamProvider(
    string Name, UpstreamKind Kind, string[] Models, int Weight, int Priority, UpstreamEndpoint[] Targets, bool OnlyUnclaimed = false)
{
    public bool Serves(string model) => Models.Length == 0 || LlmGateway.Contracts.Credentials.ModelPatterns.IsAllowed(Models, model);
}
