using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace LlmGateway.Identity;

/// <summary>What <see cref="CallerCredentialHeaders.Read"/> found on a request.</summary>
public enum CallerCredentialPresence
{
    /// <summary>Neither header carries a value.</summary>
    Missing,

    /// <summary>One credential: from <c>x-api-key</c>, from <c>Authorization: Bearer</c>, or the same value in both.</summary>
    Present,

    /// <summary><c>x-api-key</c> and <c>Authorization: Bearer</c> carry different values.</summary>
    Conflicting,

    /// <summary>An <c>Authorization</c> header of another scheme (<c>Basic …</c>), or either header repeated.</summary>
    Unreadable,
}

/// <summary>
/// The one rule, on every route of every service, for where the caller's credential is: <c>x-api-key</c> (Anthropic
/// clients) or <c>Authorization: Bearer</c> (OpenAI clients, Claude Code's <c>ANTHROPIC_AUTH_TOKEN</c>). Both may be
/// sent when they carry the same value (Claude Code's <c>apiKeyHelper</c> does); two different values are refused rather
/// than guessing which one the caller meant — a real provider key left in <c>x-api-key</c> beside a gateway token must
/// not decide which identity is charged. A repeated header or an <c>Authorization</c> header of another scheme is
/// refused too. Whether the value is well-formed is each caller's next step, not this rule's.
/// </summary>
/// <remarks>No allocation: the credential is a slice of the header value.</remarks>
public static class CallerCredentialHeaders
{
    public const string ApiKey = "x-api-key";

    /// <summary>The refusal message of <see cref="CallerCredentialPresence.Conflicting"/>, the same on every service.</summary>
    public const string ConflictingMessage = "x-api-key and Authorization carry different credentials; send one.";

    /// <summary>The refusal message of <see cref="CallerCredentialPresence.Unreadable"/>, the same on every service.</summary>
    public const string UnreadableMessage =
        "The credential cannot be read: send it once, as the x-api-key header or as Authorization: Bearer <credential>.";

    private const string BearerPrefix = "Bearer ";

    public static CallerCredentialPresence Read(IHeaderDictionary headers, out ReadOnlySpan<char> credential)
    {
        credential = default;
        if (!TryValue(headers[ApiKey], out var apiKey) || !TryValue(headers[HeaderNames.Authorization], out var authorization))
        {
            return CallerCredentialPresence.Unreadable;
        }

        ReadOnlySpan<char> bearer = default;
        if (!authorization.IsEmpty)
        {
            if (!authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
            {
                return CallerCredentialPresence.Unreadable;
            }

            bearer = authorization[BearerPrefix.Length..].Trim();
        }

        if (!apiKey.IsEmpty && !bearer.IsEmpty && !apiKey.SequenceEqual(bearer))
        {
            return CallerCredentialPresence.Conflicting;
        }

        credential = apiKey.IsEmpty ? bearer : apiKey;
        return credential.IsEmpty ? CallerCredentialPresence.Missing : CallerCredentialPresence.Present;
    }

    /// <summary>The credential as a string, or null with the presence that says why there is none.</summary>
    public static CallerCredentialPresence ReadString(IHeaderDictionary headers, out string? credential)
    {
        var presence = Read(headers, out ReadOnlySpan<char> value);
        credential = presence == CallerCredentialPresence.Present ? value.ToString() : null;
        return presence;
    }

    // Empty when absent or blank; false when repeated.
    private static bool TryValue(StringValues values, out ReadOnlySpan<char> value)
    {
        value = default;
        if (values.Count > 1)
        {
            return false;
        }

        if (values.Count == 1)
        {
            value = values[0].AsSpan().Trim();
        }

        return true;
    }
}
