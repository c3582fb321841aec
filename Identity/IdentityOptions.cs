using LlmGateway.Contracts.Credentials;
using Microsoft.Extensions.Options;

namespace LlmGateway.Identity;

/// <summary>
/// JWT callers (section <c>Identity</c>): the OIDC issuers whose tokens every service accepts, and what a person may
/// do by default. Configure it once (the AppHost passes the section to every service).
/// </summary>
/// <remarks>
/// <code>
/// Identity:Issuers:{name}:Authority | MetadataAddress | JwksUrl   where the signing keys come from
/// Identity:Issuers:{name}:Issuer, :Audience                       what iss and aud must be
/// Identity:Issuers:{name}:UserClaim (sub), :OrganizationClaim (org_id), :RoleClaim (role), :EmailClaim, :NameClaim
/// Identity:Issuers:{name}:DefaultRole, :AllowedRoles:{i}, :UseSubjectAsUserId, :RequireHttpsMetadata
/// Identity:Issuers:{name}:RefreshInterval, :AutomaticRefreshInterval
/// Identity:UserLimits:RequestsPerMinute (60) | TokensPerMinute | MaxConcurrent | BudgetUsd | BudgetPeriod
/// Identity:CacheDuration (00:01:00)
/// </code>
/// </remarks>
public sealed class IdentityOptions
{
    public const string SectionName = "Identity";

    public Dictionary<string, JwtIssuerOptions> Issuers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The limits of every person signed in with a JWT (per person: the synthesized credential id is theirs).</summary>
    public UserLimitOptions UserLimits { get; set; } = new();

    /// <summary>
    /// How long a validated token is remembered (never past its <c>exp</c>), so a hot path does not verify the signature
    /// of every request. A key removed from the issuer's JWKS stops tokens signed with it after at most this long.
    /// </summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most validated tokens remembered at once.</summary>
    public int CacheCapacity { get; set; } = 10_000;
}

/// <summary>One OIDC issuer (<c>Identity:Issuers:{name}</c>); the name becomes its authentication scheme <c>jwt:{name}</c>.</summary>
public sealed class JwtIssuerOptions
{
    /// <summary>The issuer's base URL; its metadata is read from <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string? Authority { get; set; }

    /// <summary>The OpenID configuration document, when not under <see cref="Authority"/> (e.g. <c>http://tokenservice/.well-known/openid-configuration</c>).</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>The JWKS document alone, for an issuer that publishes no OpenID configuration (AuthKit's <c>/sso/jwks/{client}</c>).</summary>
    public string? JwksUrl { get; set; }

    /// <summary>The exact <c>iss</c> of its tokens. Defaults to <see cref="Authority"/>; required with a JWKS URL or metadata address alone.</summary>
    public string? Issuer { get; set; }

    /// <summary>The <c>aud</c> its tokens must carry for this gateway.</summary>
    public string? Audience { get; set; }

    public string UserClaim { get; set; } = "sub";
    public string OrganizationClaim { get; set; } = "org_id";
    public string RoleClaim { get; set; } = "role";
    public string EmailClaim { get; set; } = "email";
    public string NameClaim { get; set; } = "name";

    /// <summary>The role of a token that carries none. Null: such a token is refused.</summary>
    public string? DefaultRole { get; set; } = IdentityRoles.Viewer;

    /// <summary>The roles accepted from this issuer; a token with any other role is refused. Empty: all three.</summary>
    /// <remarks>Empty by default rather than pre-filled: configuration binding appends to a list's items.</remarks>
    public List<string> AllowedRoles { get; set; } = [];

    public bool Allows(string role) => AllowedRoles.Count == 0 ? IdentityRoles.IsKnown(role) : AllowedRoles.Contains(role, StringComparer.Ordinal);

    /// <summary>
    /// Use <c>sub</c> itself as the person's id (a local-account issuer whose subjects are already user ids, <c>usr_…</c>)
    /// instead of <c>oidc:{issuer name}:{sub}</c>.
    /// </summary>
    public bool UseSubjectAsUserId { get; set; }

    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Least time between two key refreshes asked for by a token with an unknown <c>kid</c> (rotation).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the keys are re-read anyway (at least 5 minutes, IdentityModel's floor).</summary>
    public TimeSpan AutomaticRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Clock skew allowed on <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The <c>iss</c> this issuer's tokens carry.</summary>
    public string? ExpectedIssuer => Issuer ?? Authority;
}

public sealed class UserLimitOptions
{
    public int? RequestsPerMinute { get; set; } = 60;
    public int? TokensPerMinute { get; set; }
    public int? MaxConcurrent { get; set; }
    public decimal? BudgetUsd { get; set; }
    public string? BudgetPeriod { get; set; }

    public CredentialLimits ToLimits() => new()
    {
        RequestsPerMinute = RequestsPerMinute,
        TokensPerMinute = TokensPerMinute,
        MaxConcurrent = MaxConcurrent,
        BudgetUsd = BudgetUsd,
        BudgetPeriod = BudgetPeriod,
    };
}

internal sealed class IdentityOptionsValidator : IValidateOptions<IdentityOptions>
{
    public ValidateOptionsResult Validate(string? name, IdentityOptions options)
    {
        var failures = new List<string>();
        if (options.CacheDuration < TimeSpan.Zero || options.CacheDuration > TimeSpan.FromMinutes(10))
        {
            failures.Add("Identity:CacheDuration must be between 0 and 10 minutes.");
        }

        if (options.CacheCapacity < 0)
        {
            failures.Add("Identity:CacheCapacity must not be negative.");
        }

        if (options.UserLimits.RequestsPerMinute is < 1 || options.UserLimits.TokensPerMinute is < 1 || options.UserLimits.MaxConcurrent is < 1
            || options.UserLimits.BudgetUsd is < 0 || options.UserLimits.BudgetPeriod is not (null or "total" or "daily" or "monthly"))
        {
            failures.Add("Identity:UserLimits: limits must be positive; BudgetPeriod total, daily or monthly.");
        }

        var issuers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (issuerName, issuer) in options.Issuers)
        {
            var at = $"Identity:Issuers:{issuerName}";
            if (issuer.Authority is null && issuer.MetadataAddress is null && issuer.JwksUrl is null)
            {
                failures.Add($"{at} needs Authority, MetadataAddress or JwksUrl.");
            }

            if (string.IsNullOrWhiteSpace(issuer.ExpectedIssuer))
            {
                failures.Add($"{at}:Issuer is required (the exact iss of its tokens) unless Authority is set.");
            }
            else if (!issuers.Add(issuer.ExpectedIssuer))
            {
                failures.Add($"{at}: another issuer has the same iss '{issuer.ExpectedIssuer}'.");
            }

            if (string.IsNullOrWhiteSpace(issuer.Audience))
            {
                failures.Add($"{at}:Audience is required: a token minted for another service must not be accepted here.");
            }

            foreach (var role in issuer.AllowedRoles)
            {
                if (!IdentityRoles.IsKnown(role))
                {
                    failures.Add($"{at}:AllowedRoles: '{role}' is not one of viewer, member, admin.");
                }
            }

            if (issuer.DefaultRole is not null && !IdentityRoles.IsKnown(issuer.DefaultRole))
            {
                failures.Add($"{at}:DefaultRole '{issuer.DefaultRole}' is not one of viewer, member, admin.");
            }

            if (issuer.RefreshInterval < TimeSpan.FromSeconds(1))
            {
                failures.Add($"{at}:RefreshInterval must be at least 1 second.");
            }

            if (issuer.AutomaticRefreshInterval < TimeSpan.FromMinutes(5))
            {
                failures.Add($"{at}:AutomaticRefreshInterval must be at least 5 minutes.");
            }

            if (string.IsNullOrWhiteSpace(issuer.UserClaim) || string.IsNullOrWhiteSpace(issuer.RoleClaim))
            {
                failures.Add($"{at}: UserClaim and RoleClaim must name a claim.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
