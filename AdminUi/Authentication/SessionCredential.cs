using System.Security.Claims;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.AdminUi.Authentication;

/// <summary>How a session's credential is presented to the APIs.</summary>
public enum CredentialPresentation
{
    /// <summary><c>x-api-key: …</c> (gateway-issued and bootstrap admin keys).</summary>
    ApiKey,

    /// <summary><c>Authorization: Bearer …</c> (tokens of a future OIDC sign-in).</summary>
    Bearer,
}

/// <summary>
/// The credential a signed-in person's requests carry to the APIs: the UI acts as them, never as itself. It lives
/// only in the session's claims (inside the Data-Protection-encrypted cookie) and in outgoing request headers;
/// <see cref="ToString"/> is its redacted hint, so a log line or an exception message cannot leak it.
/// </summary>
public sealed class SessionCredential(string value, CredentialPresentation presentation)
{
    public const string ApiKeyHeader = "x-api-key";

    public CredentialPresentation Presentation { get; } = presentation;

    /// <summary><c>prefix…last4</c>: what may be shown and logged.</summary>
    public string Hint { get; } = CredentialFormat.Redact(value);

    /// <summary>Sets the credential's header on a request (replacing any, so a retried request carries it once).</summary>
    public void ApplyTo(HttpRequestMessage request)
    {
        request.Headers.Remove(ApiKeyHeader);
        request.Headers.Authorization = null;
        if (Presentation == CredentialPresentation.Bearer)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", value);
        }
        else
        {
            request.Headers.TryAddWithoutValidation(ApiKeyHeader, value);
        }
    }

    /// <summary>The claims a session keeps for it.</summary>
    internal IEnumerable<Claim> ToClaims() =>
    [
        new(SessionClaims.Credential, value),
        new(SessionClaims.Presentation, Presentation.ToString()),
    ];

    public override string ToString() => Hint;
}

/// <summary>
/// The roles of the identity issue, as claims (<c>ClaimTypes.Role</c>): a viewer sees usage, a member also manages
/// their own keys, an admin everything. The APIs enforce them; the UI only hides what a role cannot use.
/// </summary>
public static class SessionRoles
{
    public const string Viewer = "viewer";
    public const string Member = "member";
    public const string Admin = "admin";

    /// <summary>Authorization policy of the admin pages (credentials of everyone, devices, upstreams, audit).</summary>
    public const string AdminPolicy = "admin";

    /// <summary>Authorization policy of a person's own pages (signed in with an account, whatever the role).</summary>
    public const string AccountPolicy = "account";
}

/// <summary>The claims of a session, whatever way the person signed in.</summary>
public static class SessionClaims
{
    /// <summary>The credential presented to the APIs (<see cref="SessionCredential"/>).</summary>
    public const string Credential = "lgw:credential";

    public const string Presentation = "lgw:credential_presentation";

    /// <summary>How the person signed in (<c>admin_key</c>, <c>password</c>).</summary>
    public const string Method = "lgw:sign_in_method";

    /// <summary>The person's organization (from their account), when they have one.</summary>
    public const string Organization = "lgw:organization";

    /// <summary>Unix seconds at which the session's credential (a JWT) expires.</summary>
    public const string ExpiresAt = "lgw:credential_expires_at";

    /// <summary>The credential of a signed-in person, or null (not signed in, or a session without one).</summary>
    public static SessionCredential? CredentialOf(ClaimsPrincipal? user)
    {
        if (user?.Identity?.IsAuthenticated != true || user.FindFirst(Credential)?.Value is not { Length: > 0 } value)
        {
            return null;
        }

        var presentation = Enum.TryParse<CredentialPresentation>(user.FindFirst(Presentation)?.Value, out var parsed) ? parsed : CredentialPresentation.ApiKey;
        return new SessionCredential(value, presentation);
    }
}
