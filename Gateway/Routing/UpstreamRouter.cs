using LlmGateway.Gateway.Forwarding;

namespace LlmGateway.Gateway.Routing;

/// <summary>
/// Picks the targets for a model, in the order they are tried: the upstreams serving it (their <c>Models</c>
/// patterns; the default <c>Upstream</c> serves what no named one does) by priority, and within a priority a
/// weighted random order, so traffic spreads by weight and the rest is the fallback chain.
/// </summary>
internal sealed class UpstreamRouter(UpstreamCatalog catalog)
{
    /// <summary>The model id sent upstream for <paramref name="model"/> (<c>Routing:Aliases</c>), or the model itself.</summary>
    public string ResolveAlias(string model) => catalog.Aliases.TryGetValue(model, out var target) ? target : model;

    /// <summary>
    /// The plan for a model; empty when no upstream serves it. OpenAI-compatible upstreams are candidates only when
    /// <paramref name="translatable"/>: the request is a Messages request the forwarder can send them as Chat
    /// Completions (<c>Translation/OpenAiUpstream</c>); count_tokens and text completions have no equivalent there.
    /// </summary>
    public RoutePlan Plan(string? model, bool translatable = false)
    {
        if (model is null)
        {
            return new RoutePlan([catalog.Primary]);
        }

        List<(int Priority, double Key, UpstreamEndpoint Target)>? chosen = null;
        UpstreamProvider? unclaimed = null;
        foreach (var provider in catalog.Providers)
        {
            if (provider.OnlyUnclaimed)
            {
                unclaimed = provider;
                continue;
            }

            if (!provider.Serves(model) || (provider.Kind == UpstreamKind.OpenAI && !translatable))
            {
                continue;
            }

            chosen ??= [];
            foreach (var target in provider.Targets)
            {
                // Efraimidis–Spirakis: sorting by u^(1/w) descending is a weighted random permutation.
                var key = Math.Pow(Random.Shared.NextDouble(), 1.0 / provider.Weight);
                chosen.Add((provider.Priority, key, target));
            }
        }

        if (chosen is null)
        {
            return unclaimed is null ? new RoutePlan([]) : new RoutePlan(unclaimed.Targets);
        }

        if (chosen.Count == 1)
        {
            return new RoutePlan([chosen[0].Target]);
        }

        chosen.Sort(static (a, b) => a.Priority != b.Priority ? a.Priority.CompareTo(b.Priority) : b.Key.CompareTo(a.Key));
        var targets = new UpstreamEndpoint[chosen.Count];
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i] = chosen[i].Target;
        }

        return new RoutePlan(targets);
    }
}

/// <summary>
/// The targets one request may use, in order, and where it stands. Each attempt takes the next target whose
/// breaker lets a call through, wrapping around to retry earlier ones when the list is exhausted.
/// </summary>
internal sealed class RoutePlan(UpstreamEndpoint[] targets)
{
    private int _next;

    public IReadOnlyList<UpstreamEndpoint> Targets => targets;

    /// <summary>Whether any target speaks Chat Completions (the request must then be translated for it).</summary>
    public bool HasOpenAiTarget => Array.Exists(targets, static t => t.Kind == UpstreamKind.OpenAI);

    /// <summary>Whether the target of the current attempt holds its breaker's half-open probe.</summary>
    public bool Probe { get; private set; }

    /// <summary>
    /// The target of the next attempt, or null when every target's breaker is open. Wraps around: with one target
    /// a retry goes to it again (as before several upstreams existed).
    /// </summary>
    public UpstreamEndpoint? Next()
    {
        for (var i = 0; i < targets.Length; i++)
        {
            var target = targets[(_next + i) % targets.Length];
            var probe = false;
            if (target.Breaker is { } breaker && !breaker.TryAcquire(out probe))
            {
                continue;
            }

            Probe = probe;
            _next = (_next + i + 1) % targets.Length;
            return target;
        }

        return null;
    }

    /// <summary>How long until any target of this plan may be tried again (for <c>retry-after</c>).</summary>
    public TimeSpan WaitTime()
    {
        TimeSpan? shortest = null;
        foreach (var target in targets)
        {
            if (target.Breaker?.WaitTime() is { } wait && (shortest is null || wait < shortest))
            {
                shortest = wait;
            }
        }

        return shortest ?? TimeSpan.Zero;
    }
}
