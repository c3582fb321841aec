using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.OAuth;

/// <summary>
/// The simulator as an OAuth authorization server (like Claude's, for tests and demo mode):
/// <code>
/// GET  /oauth/authorize?response_type=code&amp;client_id&amp;redirect_uri&amp;code_challenge&amp;code_challenge_method=S256&amp;state
///        → 302 to redirect_uri?code=…&amp;state=… at once (no sign-in page); ?mode=json answers {code, state} instead
/// POST /oauth/token   (form or JSON) grant_type=authorization_code (code, code_verifier, client_id, redirect_uri)
///                     grant_type=refresh_token (refresh_token, client_id) → {access_token, refresh_token, expires_in, token_type}
///                     a used, revoked or unknown refresh token → 400 {"error":"invalid_grant"}
/// GET  /_sim/oauth/stats                 {authorization_code_grants, refresh_grants}
/// POST /_sim/oauth/lifetime?seconds=N    access-token lifetime of tokens issued from now on
/// POST /_sim/oauth/revoke-all            revokes every refresh token
/// </code>
/// </summary>
internal static class OAuthApi
{
    public static IEndpointRouteBuilder MapOAuthApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/oauth/authorize", Authorize);
        routes.MapPost("/oauth/token", Token);
        routes.MapGet("/_sim/oauth/stats", (OAuthServer server) =>
            Results.Json(new { authorization_code_grants = server.AuthorizationCodeGrants, refresh_grants = server.RefreshGrants }));
        routes.MapPost("/_sim/oauth/lifetime", (int seconds, OAuthServer server) =>
        {
            server.SetLifetime(seconds);
            return Results.NoContent();
        });
        routes.MapPost("/_sim/oauth/revoke-all", (OAuthServer server) =>
        {
            server.RevokeAll();
            return Results.NoContent();
        });
        return routes;
    }

    private static IResult Authorize(HttpRequest request, OAuthServer server)
    {
        var q = request.Query;
        if (q["response_type"] != "code" || q["code_challenge_method"] != "S256" || string.IsNullOrEmpty(q["code_challenge"])
            || string.IsNullOrEmpty(q["client_id"]))
        {
            return Results.Json(new { error = "invalid_request", error_description = "response_type=code, client_id and an S256 code_challenge are required." },
                statusCode: 400);
        }

        var code = server.IssueCode(q["code_challenge"]!, q["client_id"]!);
        var state = q["state"].ToString();
        if (q["mode"] == "json" || string.IsNullOrEmpty(q["redirect_uri"]))
        {
            return Results.Json(new { code, state });
        }

        var redirect = q["redirect_uri"].ToString();
        var separator = redirect.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        return Results.Redirect($"{redirect}{separator}code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(state)}");
    }

    private static async Task<IResult> Token(HttpRequest request, OAuthServer server)
    {
        Dictionary<string, string?> fields;
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            fields = form.ToDictionary(f => f.Key, f => (string?)f.Value.ToString());
        }
        else
        {
            try
            {
                using var json = await JsonDocument.ParseAsync(request.Body);
                fields = json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.ToString());
            }
            catch (JsonException)
            {
                return Results.Json(new { error = "invalid_request" }, statusCode: 400);
            }
        }

        var issued = fields.GetValueOrDefault("grant_type") switch
        {
            "authorization_code" => server.RedeemCode(fields.GetValueOrDefault("code") ?? "", fields.GetValueOrDefault("code_verifier") ?? ""),
            "refresh_token" => server.Refresh(fields.GetValueOrDefault("refresh_token") ?? ""),
            _ => null,
        };
        if (issued is not { } t)
        {
            return Results.Json(new { error = "invalid_grant", error_description = "The grant is invalid, expired or revoked." }, statusCode: 400);
        }

        return Results.Json(new { access_token = t.Access, refresh_token = t.Refresh, expires_in = t.ExpiresIn, token_type = "Bearer", scope = "user:inference" });
    }
}
