using System.ComponentModel.DataAnnotations;

namespace LlmGateway.Gateway.Routing;

/// <summary>The wire format an upstream speaks.</summary>
public enum UpstreamKind
{
    /// <summary>Anthropic Messages API (<c>/v1/messages</c>), key in <c>x-api-key</c>.</summary>
    Anthropic,

    /// <summary>An OpenAI-compatible Chat Completions API (OpenAI, vLLM, Ollama, …), key as <c>Authorization: Bearer</c>.</summary>
    OpenAI,
}

/// <summary>
/// One named upstream (provider), section <c>Upstreams:&lt;name&gt;</c>. Each key is a routable target with its own
/// circuit breaker; requests for a model go to the targets of the upstreams whose <see cref="Models"/> match it.
/// </summary>
public sealed class UpstreamProviderOptions
{
    public UpstreamKind Kind { get; set; } = UpstreamKind.Anthropic;

    /// <summary><c>https://api.anthropic.com</c>, <c>https://api.openai.com</c>, or a service name (<c>http://upstream-openai</c>).</summary>
    [Required]
    public Uri? BaseUrl { get; set; }

    /// <summary>One key (a target). Combined with <see cref="ApiKeys"/>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Several keys or deployments of the same provider: each is a target, balanced by <see cref="Weight"/>.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>
    /// Header the key is sent in. Defaults: <c>x-api-key</c> (anthropic), <c>Authorization</c> (openai, as
    /// <c>Bearer {key}</c>). E.g. <c>api-key</c> for Azure OpenAI.
    /// </summary>
    public string? AuthHeader { get; set; }

    /// <summary>Prefix of the header value; defaults to <c>Bearer </c> when the header is <c>Authorization</c>.</summary>
    public string? AuthScheme { get; set; }

    /// <summary>Model patterns served (<c>claude-*</c>, <c>gpt-4o</c>, <c>*</c>); empty serves every model.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Share of traffic among the targets of the same <see cref="Priority"/> serving a model.</summary>
    [Range(1, 10000)]
    public int Weight { get; set; } = 1;

    /// <summary>Lower is tried first; a higher priority is the fallback chain used when every lower one failed or is open.</summary>
    [Range(0, 100)]
    public int Priority { get; set; }

    /// <summary>Longest wait for the response headers; defaults to <c>Upstream:FirstByteTimeout</c>.</summary>
    public TimeSpan? FirstByteTimeout { get; set; }

    public IEnumerable<string> Keys()
    {
        if (!string.IsNullOrEmpty(ApiKey))
        {
            yield return ApiKey;
        }

        foreach (var key in ApiKeys)
        {
            if (!string.IsNullOrEmpty(key))
            {
                yield return key;
            }
        }
    }
}

/// <summary>
/// Routing settings, section <c>Routing</c>: model aliases (<c>Routing:Aliases:claude-sonnet-4-5 =
/// claude-sonnet-4-5-20250929</c>) and the circuit breaker shared by every target.
/// </summary>
public sealed class RoutingOptions
{
    public const string SectionName = "Routing";

    public const string UpstreamsSectionName = "Upstreams";

    /// <summary>Alias → the model id sent upstream. The allowlist and usage see the resolved id.</summary>
    public Dictionary<string, string> Aliases { get; set; } = new(StringComparer.Ordinal);

    [Microsoft.Extensions.Options.ValidateObjectMembers]
    public CircuitBreakerOptions CircuitBreaker { get; set; } = new();
}

[Microsoft.Extensions.Options.OptionsValidator]
public sealed partial class RoutingOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<RoutingOptions>;

/// <summary>When a target's breaker opens and how it recovers.</summary>
public sealed class CircuitBreakerOptions
{
    /// <summary>
    /// Default (unset): on for the targets of named upstreams (<c>Upstreams:*</c>), off for the default
    /// <c>Upstream</c> when no named upstream describes it (it is retried as before breakers existed). <c>true</c>
    /// or <c>false</c> applies to every target.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>Opens after this many failures in a row (pre-first-byte failures: connection, timeout, 408/409/429/5xx/529).</summary>
    [Range(1, 1000)]
    public int ConsecutiveFailures { get; set; } = 5;

    /// <summary>Opens when at least this share of the calls in <see cref="SamplingWindow"/> failed…</summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>…and the window held at least this many calls.</summary>
    [Range(1, 100000)]
    public int MinimumThroughput { get; set; } = 20;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SamplingWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open breaker skips its target before letting one probe through (half-open).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}
