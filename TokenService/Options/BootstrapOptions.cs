using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Options;

/// <summary>
/// Configuration section <c>Bootstrap</c>: zero-config device tokens (<c>POST /bootstrap</c>, <c>POST /refresh</c>). Off unless
/// <see cref="Enabled"/>: anyone who can reach the gateway can bootstrap, so the policy below is all a device gets.
/// </summary>
public sealed class BootstrapOptions
{
    public const string Section = "Bootstrap";

    public static readonly IReadOnlyList<string> DefaultRoutes = ["/v1/messages", "/v1/messages/count_tokens", "/v1/complete"];

    public bool Enabled { get; set; }

    /// <summary>Life of a device token (Go duration).</summary>
    public string Ttl { get; set; } = "24h";

    /// <summary>Model allowlist of device tokens; default every model.</summary>
    public List<string>? Models { get; set; }

    /// <summary>Route allowlist of device tokens; default the Messages API routes.</summary>
    public List<string>? Routes { get; set; }

    /// <summary>Limits of each device token; default 100 requests per minute.</summary>
    public CredentialLimits? Limits { get; set; }

    /// <summary>The gateway's public base URL returned as <c>proxy_base_url</c>; default: derived from the request.</summary>
    public string? ProxyBaseUrl { get; set; }

    /// <summary>Bootstrap calls allowed per client address per minute (per TokenService instance).</summary>
    public int RequestsPerMinutePerAddress { get; set; } = 10;

    /// <summary>How long a refreshed token keeps working, so requests already in flight with it do not fail.</summary>
    public string RefreshGracePeriod { get; set; } = "1m";

    public TimeSpan TtlValue => GoDuration.Parse(Ttl);

    public TimeSpan RefreshGracePeriodValue => GoDuration.Parse(RefreshGracePeriod);

    public CredentialScope Scope => new(
        Models is { Count: > 0 } ? Models : CredentialScope.Everything,
        Routes is { Count: > 0 } ? Routes : DefaultRoutes,
        ScopeRules.Normalize(Limits ?? new CredentialLimits { RequestsPerMinute = 100 }));
}
