using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LlmGateway.Testing;

/// <summary>
/// An OIDC issuer for tests, on a real socket: <c>/.well-known/openid-configuration</c> and <c>/jwks</c> from its own RSA
/// keys, which it can rotate; it signs tokens with the current key (or any other, to test refusals). It also runs the
/// authorization code flow with PKCE for a browser: <c>/authorize</c> signs in <see cref="NextSignIn"/> at once (no
/// login page) and <c>/token</c> exchanges the code for an id token and an access token.
/// </summary>
public sealed class TestJwtIssuer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile SigningKey[] _published;
    private int _jwksRequests;

    private TestJwtIssuer(WebApplication app, SigningKey key)
    {
        _app = app;
        _published = [key];
        Current = key;
    }

    /// <summary>The <c>iss</c> of its tokens: its base address without the trailing slash.</summary>
    public string Issuer { get; private set; } = "";

    public string MetadataAddress => Issuer + "/.well-known/openid-configuration";

    public string JwksUrl => Issuer + "/jwks";

    public SigningKey Current { get; private set; }

    public int JwksRequests => Volatile.Read(ref _jwksRequests);

    /// <summary>Who <c>/authorize</c> signs in: subject, role, email, and the audience of the access token it issues.</summary>
    public (string Subject, string Role, string Email, string Audience) NextSignIn { get; set; } = ("oidc-user", "admin", "oidc-user@example.com", "llm-gateway");

    /// <summary>Codes <c>/token</c> has exchanged (each works once).</summary>
    public int CodesExchanged => Volatile.Read(ref _codesExchanged);

    private int _codesExchanged;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, PendingCode> _codes = new();

    private sealed record PendingCode(string ClientId, string RedirectUri, string? Nonce, string? Challenge, (string Subject, string Role, string Email, string Audience) SignIn);

    public static async Task<TestJwtIssuer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var issuer = new TestJwtIssuer(app, SigningKey.Create());
        app.MapGet("/.well-known/openid-configuration", () => Results.Text(
            JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["issuer"] = issuer.Issuer,
                ["jwks_uri"] = issuer.JwksUrl,
                ["authorization_endpoint"] = issuer.Issuer + "/authorize",
                ["token_endpoint"] = issuer.Issuer + "/token",
                ["response_types_supported"] = new[] { "code" },
                ["subject_types_supported"] = new[] { "public" },
                ["code_challenge_methods_supported"] = new[] { "S256" },
                ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            }), "application/json"));
        app.MapGet("/authorize", (HttpRequest request) =>
        {
            var query = request.Query;
            string? redirect = query["redirect_uri"];
            if (query["response_type"] != "code" || string.IsNullOrEmpty(redirect) || string.IsNullOrEmpty(query["client_id"]))
            {
                return Results.BadRequest("response_type=code, client_id and redirect_uri are required");
            }

            var code = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            issuer._codes[code] = new PendingCode(query["client_id"]!, redirect, query["nonce"], query["code_challenge"], issuer.NextSignIn);
            var separator = redirect.Contains('?') ? "&" : "?";
            return Results.Redirect(redirect + separator + "code=" + code + "&state=" + Uri.EscapeDataString(query["state"].ToString()));
        });
        app.MapPost("/token", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            if (form["grant_type"] != "authorization_code" || !issuer._codes.TryRemove(form["code"].ToString(), out var pending)
                || pending.RedirectUri != form["redirect_uri"] || pending.ClientId != form["client_id"])
            {
                return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
            }

            // PKCE S256: the verifier must hash to the challenge sent to /authorize.
            var verifier = form["code_verifier"].ToString();
            if (pending.Challenge is not null
                && Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) != pending.Challenge)
            {
                return Results.Json(new { error = "invalid_grant", error_description = "PKCE verification failed" }, statusCode: 400);
            }

            Interlocked.Increment(ref issuer._codesExchanged);
            var (subject, role, email, audience) = pending.SignIn;
            var expires = DateTimeOffset.UtcNow.AddMinutes(10);
            var claims = new Dictionary<string, object> { ["sub"] = subject, ["role"] = role, ["email"] = email, ["org_id"] = "org_test" };
            if (pending.Nonce is not null)
            {
                claims["nonce"] = pending.Nonce;
            }

            var idToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer.Issuer,
                Audience = pending.ClientId,
                Claims = claims,
                Expires = expires.UtcDateTime,
                SigningCredentials = issuer.Current.Credentials,
            });
            var accessToken = issuer.CreateToken(subject, role, "org_test", audience, expires: expires, email: email);
            return Results.Json(new { access_token = accessToken, id_token = idToken, token_type = "Bearer", expires_in = 600 });
        });
        app.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref issuer._jwksRequests);
            return Results.Text(JsonSerializer.Serialize(new { keys = issuer._published.Select(k => k.Jwk()).ToArray() }), "application/json");
        });
        await app.StartAsync();
        issuer.Issuer = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return issuer;
    }

    /// <summary>A new key becomes the signing key and the only one published; the old one is withdrawn.</summary>
    public SigningKey Rotate()
    {
        var next = SigningKey.Create();
        Current = next;
        _published = [next];
        return next;
    }

    /// <summary>A signed token (RS256) with the usual claims; every part can be overridden to make it wrong.</summary>
    public string CreateToken(
        string subject,
        string? role = "member",
        string? organization = "org_test",
        string audience = "llm-gateway",
        string? issuer = null,
        DateTimeOffset? expires = null,
        SigningKey? key = null,
        string? email = null)
    {
        var exp = expires ?? DateTimeOffset.UtcNow.AddMinutes(10);
        var claims = new Dictionary<string, object> { ["sub"] = subject, ["jti"] = Guid.NewGuid().ToString("N") };
        if (role is not null)
        {
            claims["role"] = role;
        }

        if (organization is not null)
        {
            claims["org_id"] = organization;
        }

        if (email is not null)
        {
            claims["email"] = email;
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = exp.UtcDateTime.AddMinutes(-20),
            NotBefore = exp.UtcDateTime.AddMinutes(-20),
            Expires = exp.UtcDateTime,
            SigningCredentials = (key ?? Current).Credentials,
        });
    }

    /// <summary>An unsigned token (<c>alg: none</c>, empty signature) with otherwise valid claims.</summary>
    public string CreateUnsignedToken(string subject, string role = "admin")
    {
        var header = Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8);
        var payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = "llm-gateway",
            ["sub"] = subject,
            ["role"] = role,
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds(),
        })));
        return header + "." + payload + ".";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>An RSA key with its <c>kid</c>.</summary>
    public sealed class SigningKey
    {
        private readonly RSA _rsa;

        private SigningKey(RSA rsa, string kid)
        {
            _rsa = rsa;
            Kid = kid;
            Credentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = kid }, SecurityAlgorithms.RsaSha256);
        }

        public string Kid { get; }

        public SigningCredentials Credentials { get; }

        public static SigningKey Create(string? kid = null) => new(RSA.Create(2048), kid ?? "k" + Guid.NewGuid().ToString("N")[..8]);

        internal object Jwk()
        {
            var p = _rsa.ExportParameters(false);
            return new { kty = "RSA", use = "sig", alg = "RS256", kid = Kid, n = Base64Url.EncodeToString(p.Modulus), e = Base64Url.EncodeToString(p.Exponent) };
        }
    }
}
