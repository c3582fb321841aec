using LlmGateway.Contracts.Credentials;
using LlmGateway.Identity;
using Microsoft.Net.Http.Headers;

namespace LlmGateway.Gateway.Credentials;

internal enum CredentialPresence
{
    Missing,
    Malformed,
    WellFormed,

    /// <summary>Shaped like a JWT (see <see cref="JwtShape"/>): validated against the configured issuers, not looked up.</summary>
    Jwt,

    /// <summary><c>x-api-key</c> and <c>Authorization: Bearer</c> carry different values (<see cref="CallerCredentialHeaders"/>).</summary>
    Conflicting,
}

/// <summary>
/// Takes the caller's credential by the rule every service shares (<see cref="CallerCredentialHeaders"/>: <c>x-api-key</c>
/// or <c>Authorization: Bearer</c>, both only with the same value), then classifies it without I/O: a malformed value is
/// rejected here. Well-formed means a gateway credential (prefix and checksum) or a key matching a configured external
/// pattern; a value shaped like a JWT is told apart here too, by its shape alone (<see cref="CredentialPresence.Jwt"/>).
/// </summary>
internal static class CredentialHeaders
{
    public const string ApiKey = CallerCredentialHeaders.ApiKey;

    public static CredentialPresence Read(IHeaderDictionary headers, out ReadOnlySpan<char> credential, out CredentialKind kind) =>
        Read(headers, [], out credential, out kind);

    public static CredentialPresence Read(
        IHeaderDictionary headers, IReadOnlyList<ExternalKeyPattern> externalPatterns, out ReadOnlySpan<char> credential, out CredentialKind kind)
    {
        kind = default;
        switch (CallerCredentialHeaders.Read(headers, out credential))
        {
            case CallerCredentialPresence.Missing:
                return CredentialPresence.Missing;
            case CallerCredentialPresence.Conflicting:
                credential = default;
                return CredentialPresence.Conflicting;
            case CallerCredentialPresence.Unreadable:
                credential = default;
                return CredentialPresence.Malformed;
        }

        var presence = Classify(credential, externalPatterns, out kind);
        if (presence == CredentialPresence.Malformed)
        {
            credential = default;
        }

        return presence;
    }

    /// <summary>What a credential already taken from the headers is: well-formed, a JWT, or malformed.</summary>
    public static CredentialPresence Classify(ReadOnlySpan<char> credential, IReadOnlyList<ExternalKeyPattern> externalPatterns, out CredentialKind kind)
    {
        if (IsWellFormed(credential, externalPatterns, out kind))
        {
            return CredentialPresence.WellFormed;
        }

        return JwtShape.IsJwt(credential) ? CredentialPresence.Jwt : CredentialPresence.Malformed;
    }

    /// <summary>
    /// The caller's credential as it may appear in logs (<c>prefix…last4</c>), for rejected requests only: the
    /// redaction happens here, at the type that reads the secret, never at a log call.
    /// </summary>
    public static string Describe(IHeaderDictionary headers)
    {
        var apiKey = headers[ApiKey];
        if (apiKey.Count > 0)
        {
            return Redact(apiKey[0].AsSpan().Trim());
        }

        var authorization = headers[HeaderNames.Authorization].ToString().AsSpan().Trim();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Redact(authorization[7..].Trim());
        }

        return authorization.IsEmpty ? "(none)" : "(not a bearer credential)";
    }

    // A JWT's first characters are its (public) header; only its last four are shown, as for any secret.
    private static string Redact(ReadOnlySpan<char> secret) =>
        JwtShape.IsJwt(secret) ? string.Concat("jwt…", secret[^4..]) : CredentialFormat.Redact(secret);

    private static bool IsWellFormed(ReadOnlySpan<char> value, IReadOnlyList<ExternalKeyPattern> externalPatterns, out CredentialKind kind)
    {
        if (CredentialFormat.TryParse(value, out kind))
        {
            return true;
        }

        // External keys are registered as API keys; the projection tells the real kind.
        kind = CredentialKind.ApiKey;
        return externalPatterns.Count > 0 && ExternalKeyPattern.MatchesAny(externalPatterns, value);
    }
}
