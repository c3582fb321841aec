using LlmGateway.TokenService.Model;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.Options;

/// <summary>Who may create a local account (<c>Accounts:Registration</c>).</summary>
public enum RegistrationMode
{
    /// <summary>Anyone who can reach the gateway.</summary>
    Open,

    /// <summary>Only with a code an admin created (<c>POST /admin/invites</c>).</summary>
    Invite,

    /// <summary>Nobody, except the configured <c>Accounts:AdminEmail</c> while that account does not exist.</summary>
    Closed,
}

/// <summary>
/// Configuration section <c>Accounts</c>: local user accounts (<c>/api/auth/*</c>), the JWTs TokenService issues for them
/// and their self-service keys (<c>/api/keys/*</c>).
/// </summary>
public sealed class AccountOptions
{
    public const string Section = "Accounts";

    /// <summary>
    /// Default <see cref="RegistrationMode.Invite"/>: an open gateway spends the operator's upstream money, so strangers
    /// must not be able to sign up unless the operator says so. The very first account (and the configured
    /// <see cref="AdminEmail"/>) can always register, so a fresh install is not locked out.
    /// </summary>
    public RegistrationMode Registration { get; set; } = RegistrationMode.Invite;

    /// <summary>This email becomes admin when it registers. When unset, the first account to register becomes admin.</summary>
    public string? AdminEmail { get; set; }

    /// <summary>The organization every local account belongs to (claim <c>org_id</c>, owner <c>organization_id</c>).</summary>
    public string OrganizationId { get; set; } = "local";

    public int MinPasswordLength { get; set; } = 12;

    /// <summary>Failed sign-ins in a row after which the account is locked for <see cref="LockoutDuration"/>.</summary>
    public int MaxFailedSignIns { get; set; } = 5;

    /// <summary>Go duration.</summary>
    public string LockoutDuration { get; set; } = "15m";

    /// <summary>Register and login calls one client address may make per minute (per TokenService instance).</summary>
    public int SignInsPerMinutePerAddress { get; set; } = 30;

    /// <summary>Life of an invite code (Go duration).</summary>
    public string InviteTtl { get; set; } = "168h";

    /// <summary>Active self-service keys one account may have at once.</summary>
    public int MaxKeysPerUser { get; set; } = 100;

    public UserTokenOptions Jwt { get; set; } = new();

    public TimeSpan LockoutDurationValue => GoDuration.Parse(LockoutDuration);

    public TimeSpan InviteTtlValue => GoDuration.Parse(InviteTtl);
}

/// <summary><c>Accounts:Jwt</c>: the tokens issued at sign-in (RS256, keys in PostgreSQL, published at <c>/.well-known/jwks.json</c>).</summary>
public sealed class UserTokenOptions
{
    public string Issuer { get; set; } = "llmgateway";
    public string Audience { get; set; } = "llmgateway";

    /// <summary>Go duration; seed 003: seven days.</summary>
    public string Lifetime { get; set; } = "168h";

    /// <summary>How long a replica keeps using the signing keys it read (a rotation reaches every replica within this).</summary>
    public string KeyCacheTtl { get; set; } = "1m";

    public TimeSpan LifetimeValue => GoDuration.Parse(Lifetime);

    public TimeSpan KeyCacheTtlValue => GoDuration.Parse(KeyCacheTtl);
}

public sealed class AccountOptionsValidation : IValidateOptions<AccountOptions>
{
    public ValidateOptionsResult Validate(string? name, AccountOptions options)
    {
        var errors = new List<string>();
        Duration(options.LockoutDuration, "Accounts:LockoutDuration", TimeSpan.FromSeconds(1), errors);
        Duration(options.InviteTtl, "Accounts:InviteTtl", TimeSpan.FromMinutes(1), errors);
        Duration(options.Jwt.Lifetime, "Accounts:Jwt:Lifetime", TimeSpan.FromMinutes(1), errors);
        Duration(options.Jwt.KeyCacheTtl, "Accounts:Jwt:KeyCacheTtl", TimeSpan.Zero, errors);
        if (options.MinPasswordLength is < 8 or > 128)
        {
            errors.Add("Accounts:MinPasswordLength must be between 8 and 128");
        }

        if (options.MaxFailedSignIns < 1)
        {
            errors.Add("Accounts:MaxFailedSignIns must be at least 1");
        }

        if (options.SignInsPerMinutePerAddress < 1)
        {
            errors.Add("Accounts:SignInsPerMinutePerAddress must be at least 1");
        }

        if (options.MaxKeysPerUser < 1)
        {
            errors.Add("Accounts:MaxKeysPerUser must be at least 1");
        }

        if (options.AdminEmail is { Length: > 0 } email && AccountRules.Email(email) is { } invalid)
        {
            errors.Add($"Accounts:AdminEmail: {invalid}");
        }

        if (InputRules.Identifier(options.OrganizationId, "Accounts:OrganizationId") is { } organization)
        {
            errors.Add(organization);
        }

        if (string.IsNullOrWhiteSpace(options.Jwt.Issuer) || string.IsNullOrWhiteSpace(options.Jwt.Audience))
        {
            errors.Add("Accounts:Jwt:Issuer and Accounts:Jwt:Audience must not be empty");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Duration(string value, string key, TimeSpan minimum, List<string> errors)
    {
        if (!GoDuration.TryParse(value, out var duration, out var error))
        {
            errors.Add($"{key} {error}");
        }
        else if (duration < minimum)
        {
            errors.Add($"{key} must be at least {GoDuration.Format(minimum)}");
        }
    }
}
