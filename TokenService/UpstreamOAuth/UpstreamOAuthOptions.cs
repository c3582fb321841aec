using System.ComponentModel.DataAnnotations;

namespace LlmGateway.TokenService.UpstreamOAuth;

/// <summary>
/// Configuration <c>UpstreamOAuth:*</c>: the provider's authorization server for upstream OAuth accounts (Claude Pro/Max
/// style, authorization code with PKCE S256). <see cref="AuthorizeUrl"/> and <see cref="TokenUrl"/> default to
/// <c>{Authority}/oauth/authorize</c> and <c>{Authority}/oauth/token</c>.
/// </summary>
public sealed class UpstreamOAuthOptions
{
    public const string Section = "UpstreamOAuth";

    public string? Authority { get; set; }
    public string? AuthorizeUrl { get; set; }
    public string? TokenUrl { get; set; }
    public string? ClientId { get; set; }
    public string Scopes { get; set; } = "org:create_api_key user:profile user:inference";
    public string? RedirectUri { get; set; }

    /// <summary>How long a started connection (state + code_verifier) can be completed.</summary>
    [Range(typeof(TimeSpan), "00:00:30", "01:00:00")]
    public TimeSpan PendingLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>An access token is refreshed when it expires within this margin.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RefreshMargin { get; set; } = TimeSpan.FromMinutes(5);

    public bool IsConfigured => ClientId is { Length: > 0 } && ResolvedTokenUrl is not null && ResolvedAuthorizeUrl is not null;

    public string? ResolvedAuthorizeUrl => AuthorizeUrl ?? (Authority is { Length: > 0 } a ? a.TrimEnd('/') + "/oauth/authorize" : null);

    public string? ResolvedTokenUrl => TokenUrl ?? (Authority is { Length: > 0 } a ? a.TrimEnd('/') + "/oauth/token" : null);
}
