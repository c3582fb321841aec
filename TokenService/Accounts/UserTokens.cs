using LlmGateway.TokenService.Model;
using LlmGateway.TokenService.Options;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LlmGateway.TokenService.Accounts;

/// <summary>
/// The JWTs TokenService issues at sign-in, and their validation on TokenService's own <c>/api/*</c> routes.
/// </summary>
/// <remarks>
/// Claims: <c>sub</c> (the account id, <c>usr_…</c>), <c>email</c>, <c>name</c>, <c>role</c> (viewer, member, admin),
/// <c>org_id</c>, <c>jti</c>; <c>iss</c>/<c>aud</c> from <c>Accounts:Jwt</c>; RS256 with <c>kid</c>. Other services validate
/// them as any OIDC issuer's through <c>/.well-known/openid-configuration</c>. Validation here only reads this service's
/// own keys, so it works before (and without) a general JWT layer.
/// </remarks>
public sealed class UserTokens(SigningKeyStore keys, IOptions<AccountOptions> options, TimeProvider time)
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false, MapInboundClaims = false };

    public async Task<(string Token, DateTimeOffset ExpiresAt)> IssueAsync(UserAccount user, CancellationToken cancellationToken)
    {
        var key = await keys.CurrentAsync(cancellationToken);
        var jwt = options.Value.Jwt;
        var now = Timestamps.NowWholeSeconds(time);
        var expiresAt = now + jwt.LifetimeValue;
        var token = Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = jwt.Issuer,
            Audience = jwt.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expiresAt.UtcDateTime,
            SigningCredentials = new SigningCredentials(key.Key, SigningKey.Algorithm),
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = user.Id,
                [JwtRegisteredClaimNames.Email] = user.Email,
                [JwtRegisteredClaimNames.Name] = user.Name ?? user.Email,
                ["role"] = user.Role,
                ["org_id"] = user.OrganizationId,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
        });
        return (token, expiresAt);
    }

    /// <summary>Whether the value has a JWT's shape (three base64url parts, a JSON header): told apart from gateway credentials without a lookup.</summary>
    public static bool LooksLikeJwt(string value) => value.StartsWith("eyJ", StringComparison.Ordinal) && value.Count(c => c == '.') == 2;

    /// <summary>The account id (<c>sub</c>) of a valid token, or why it is not valid (a client-facing message).</summary>
    public async Task<(string? UserId, string? Error)> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        string? kid;
        try
        {
            kid = Handler.ReadJsonWebToken(token).Kid;
        }
        catch (ArgumentException)
        {
            return (null, "The sign-in token is malformed.");
        }

        if (await keys.FindAsync(kid, cancellationToken) is not { } key)
        {
            return (null, "The sign-in token was not signed by this service (or its key has been retired); sign in again.");
        }

        var jwt = options.Value.Jwt;
        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = jwt.Issuer,
            ValidAudience = jwt.Audience,
            IssuerSigningKey = key.Key,
            ValidAlgorithms = [SigningKey.Algorithm],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromMinutes(1),
        });
        if (!result.IsValid)
        {
            return (null, result.Exception is SecurityTokenExpiredException
                ? "The sign-in token has expired; sign in again."
                : "The sign-in token is not valid.");
        }

        return result.Claims.TryGetValue(JwtRegisteredClaimNames.Sub, out var sub) && sub is string id && id.StartsWith("usr_", StringComparison.Ordinal)
            ? (id, null)
            : (null, "The sign-in token names no account.");
    }
}
