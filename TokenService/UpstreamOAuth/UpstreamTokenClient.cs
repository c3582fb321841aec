using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace LlmGateway.TokenService.UpstreamOAuth;

/// <summary>A token set returned by the provider. Prints without the tokens.</summary>
public sealed record UpstreamTokens(string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"UpstreamTokens(expires {ExpiresAt:O})";
}

/// <summary>The outcome of a token-endpoint call: tokens, or the provider's error (<c>invalid_grant</c>, …).</summary>
public sealed record TokenEndpointResult(UpstreamTokens? Tokens, string? Error, bool Permanent);

/// <summary>Calls the provider's token endpoint (authorization_code with PKCE, refresh_token).</summary>
public sealed class UpstreamTokenClient(HttpClient http, IOptions<UpstreamOAuthOptions> options, TimeProvider time)
{
    public Task<TokenEndpointResult> RedeemCodeAsync(string code, string verifier, string state, CancellationToken cancellationToken) =>
        CallAsync(new Dictionary<string, string?>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["code_verifier"] = verifier,
            ["state"] = state,
            ["client_id"] = options.Value.ClientId,
            ["redirect_uri"] = options.Value.RedirectUri,
        }, cancellationToken);

    public Task<TokenEndpointResult> RefreshAsync(string refreshToken, CancellationToken cancellationToken) =>
        CallAsync(new Dictionary<string, string?>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
            ["client_id"] = options.Value.ClientId,
        }, cancellationToken);

    private async Task<TokenEndpointResult> CallAsync(Dictionary<string, string?> fields, CancellationToken cancellationToken)
    {
        // Claude's token endpoint takes JSON; a standard one takes a form. JSON first, as the provider this targets expects.
        var body = fields.Where(f => f.Value is not null).ToDictionary(f => f.Key, f => f.Value!);
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync(options.Value.ResolvedTokenUrl, body, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            return new TokenEndpointResult(null, $"token endpoint unreachable ({e.HttpRequestError})", Permanent: false);
        }

        using (response)
        {
            JsonElement root;
            try
            {
                root = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            }
            catch (JsonException)
            {
                return new TokenEndpointResult(null, $"token endpoint answered {(int)response.StatusCode} without JSON", Permanent: false);
            }

            if (!response.IsSuccessStatusCode || root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("access_token", out var access) || access.ValueKind != JsonValueKind.String)
            {
                var error = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String
                    ? e.GetString()! : $"http_{(int)response.StatusCode}";
                // A 4xx from the token endpoint (invalid_grant, invalid_client, …) will not get better by retrying.
                return new TokenEndpointResult(null, error, Permanent: (int)response.StatusCode is >= 400 and < 500);
            }

            var refresh = root.TryGetProperty("refresh_token", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : fields.GetValueOrDefault("refresh_token") ?? "";
            var expiresIn = root.TryGetProperty("expires_in", out var x) && x.TryGetInt32(out var seconds) ? seconds : 3600;
            return new TokenEndpointResult(new UpstreamTokens(access.GetString()!, refresh, time.GetUtcNow().AddSeconds(expiresIn)), null, false);
        }
    }
}
