using System.Security.Cryptography;
using System.Text;

namespace LlmGateway.TokenService.UpstreamOAuth;

/// <summary>PKCE (RFC 7636, S256 only) and the state parameter of the authorization-code flow.</summary>
public static class Pkce
{
    /// <summary>A code_verifier: 32 random bytes, base64url (43 characters, inside RFC 7636's 43..128).</summary>
    public static string NewVerifier() => Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>An unguessable state value binding the callback to the connection that started it.</summary>
    public static string NewState() => Base64Url(RandomNumberGenerator.GetBytes(24));

    public static string Challenge(string verifier) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    /// <summary>
    /// The code an admin pastes: either the bare code, or <c>code#state</c> as Claude's page shows it. When both a
    /// pasted state and a body state are present they must agree.
    /// </summary>
    public static bool TryReadCallback(string? pastedCode, string? bodyState, out string code, out string state, out string? error)
    {
        code = "";
        state = "";
        error = null;
        var text = pastedCode?.Trim() ?? "";
        string? pastedState = null;
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            pastedState = text[(hash + 1)..];
            text = text[..hash];
        }

        if (text.Length == 0)
        {
            error = "code is required (the authorization code, or code#state as the provider's page shows it).";
            return false;
        }

        var given = string.IsNullOrWhiteSpace(bodyState) ? null : bodyState.Trim();
        if (given is not null && pastedState is { Length: > 0 } && given != pastedState)
        {
            error = "The state pasted with the code does not match the state field.";
            return false;
        }

        state = given ?? pastedState ?? "";
        if (state.Length == 0)
        {
            error = "state is required (from GET /api/claude/connect, or pasted as code#state).";
            return false;
        }

        code = text;
        return true;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
