namespace LlmGateway.AdminUi.Options;

/// <summary>
/// Single sign-on with an external OpenID Connect issuer (section <c>AdminUi:Oidc</c>; off while <see cref="Authority"/>
/// is unset). The person signs in there (authorization code with PKCE); the access token it answers is the session's
/// credential, so the same issuer must be one of the services' <c>Identity:Issuers</c> with this token's audience.
/// </summary>
public sealed class OidcSignInOptions
{
    public const string Section = "AdminUi:Oidc";

    /// <summary>The issuer (its <c>/.well-known/openid-configuration</c> is read from here).</summary>
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    /// <summary>Unset for a public client (PKCE alone).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Scopes beyond <c>openid</c>; an issuer that wants an API scope for its access token names it here.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>What the sign-in button says: "Sign in with {DisplayName}".</summary>
    public string DisplayName { get; set; } = "single sign-on";

    /// <summary>Claims of the id token: the role, the person's email (their name in the UI).</summary>
    public string RoleClaim { get; set; } = "role";

    public string EmailClaim { get; set; } = "email";

    /// <summary>The role of a person whose token names none (least privilege).</summary>
    public string DefaultRole { get; set; } = "viewer";

    /// <summary>Plain-http metadata is refused unless this is turned off (a local issuer in development or tests).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}
