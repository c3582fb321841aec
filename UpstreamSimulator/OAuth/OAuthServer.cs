using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace LlmGateway.UpstreamSimulator.OAuth;

/// <summary>
/// The simulator's authorization server state (in memory, per process): issued codes with their PKCE challenge, access
/// tokens with their expiry, refresh tokens (rotated on every use; a used or revoked one is <c>invalid_grant</c>).
/// Counts token-endpoint calls per grant so tests can prove how many refreshes happened.
/// Access-token lifetime: configuration <c>Simulator:OAuth:AccessTokenSeconds</c> (default 3600) or per request with
/// <c>POST /_sim/oauth/lifetime?seconds=N</c>.
/// </summary>
internal sealed class OAuthServer(TimeProvider time, IConfiguration configuration)
{
    public const string AccessTokenPrefix = "simat_";

    private readonly ConcurrentDictionary<string, (string Challenge, string ClientId, DateTimeOffset Expires)> _codes = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _accessTokens = new();
    private readonly ConcurrentDictionary<string, bool> _refreshTokens = new();
    private int _authorizationCodeGrants;
    private int _refreshGrants;
    private int? _lifetimeSeconds;

    public int AuthorizationCodeGrants => Volatile.Read(ref _authorizationCodeGrants);

    public int RefreshGrants => Volatile.Read(ref _refreshGrants);

    public TimeSpan AccessTokenLifetime =>
        TimeSpan.FromSeconds(_lifetimeSeconds ?? configuration.GetValue("Simulator:OAuth:AccessTokenSeconds", 3600));

    public void SetLifetime(int seconds) => _lifetimeSeconds = seconds;

    public string IssueCode(string challenge, string clientId)
    {
        var code = "simcode_" + Random(24);
        _codes[code] = (challenge, clientId, time.GetUtcNow().AddMinutes(10));
        return code;
    }

    /// <summary>Redeems a code (once) if the verifier hashes to its S256 challenge.</summary>
    public (string Access, string Refresh, int ExpiresIn)? RedeemCode(string code, string verifier)
    {
        Interlocked.Increment(ref _authorizationCodeGrants);
        if (!_codes.TryRemove(code, out var issued) || issued.Expires < time.GetUtcNow() || S256(verifier) != issued.Challenge)
        {
            return null;
        }

        return Issue();
    }

    /// <summary>Rotates a refresh token: the old one stops working whatever happens next.</summary>
    public (string Access, string Refresh, int ExpiresIn)? Refresh(string refreshToken)
    {
        Interlocked.Increment(ref _refreshGrants);
        return _refreshTokens.TryRemove(refreshToken, out _) ? Issue() : null;
    }

    public bool RevokeRefreshToken(string refreshToken) => _refreshTokens.TryRemove(refreshToken, out _);

    /// <summary>Revokes every refresh token (what "the user revoked the app" looks like from outside).</summary>
    public void RevokeAll() => _refreshTokens.Clear();

    public bool IsValidAccessToken(string token) => _accessTokens.TryGetValue(token, out var expires) && expires > time.GetUtcNow();

    public static string S256(string verifier) =>
        Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    private (string, string, int) Issue()
    {
        var lifetime = AccessTokenLifetime;
        var access = AccessTokenPrefix + Random(32);
        var refresh = "simrt_" + Random(32);
        _accessTokens[access] = time.GetUtcNow() + lifetime;
        _refreshTokens[refresh] = true;
        return (access, refresh, (int)lifetime.TotalSeconds);
    }

    private static string Random(int bytes) => Base64Url(RandomNumberGenerator.GetBytes(bytes));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
