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
}

/// <summary>
/// Takes the caller's credential from <c>x-api-key</c> or <c>Authorization: Bearer</c>. Claude Code's
/// <c>apiKeyHelper</c> sends both; the first well-formed one wins. No I/O: a malformed value is rejected here.
/// Well-formed means a gateway credential (prefix and checksum) or a key matching a configured external pattern; a value
/// shaped like a JWT is told apart here too, by its shape alone (<see cref="CredentialPresence.Jwt"/>).
/// </summary>
internal static class CredentialHeaders
{
    public const string ApiKey = "x-api-key";

    public static CredentialPresence Read(IHeaderDictionary headers, out ReadOnlySpan<char> credential, out CredentialKind kind) =>
        Read(headers, [], out credential, out kind);

    public static CredentialPresence Read(
        IHeaderDictionary headers, IReadOnlyList<ExternalKeyPattern> externalPatterns, out ReadOnlySpan<char> credential, out CredentialKind kind)
    {
        credential = default;
        kind = default;
        var presence = CredentialPresence.Missing;

        var apiKey = headers[ApiKey];
        if (apiKey.Count > 0)
        {
            presence = CredentialPresence.Malformed;
            var value = apiKey.Count == 1 ? apiKey[0].AsSpan().Trim() : default;
            if (IsWellFormed(value, externalPatterns, out kind))
            {
                credential = value;
                return CredentialPresence.WellFormed;
            }

            if (JwtShape.IsJwt(value))
            {
                credential = value;
                return CredentialPresence.Jwt;
            }
        }

        var authorization = headers[HeaderNames.Authorization];
        if (authorization.Count > 0)
        {
            presence = CredentialPresence.Malformed;
            var value = authorization.Count == 1 ? authorization[0].AsSpan().Trim() : default;
            if (value.Length > 7 && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                var token = value[7..].TrimStart();
                if (IsWellFormed(token, externalPatterns, out kind))
                {
                    credential = token;
                    return CredentialPresence.WellFormed;
                }

                if (JwtShape.IsJwt(token))
                {
                    credential = token;
                    return CredentialPresence.Jwt;
                }
            }
        }

        return presence;
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
