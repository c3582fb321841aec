using System.Net;
using LlmGateway.TokenService.Apis;

namespace LlmGateway.TokenService.Authentication;

/// <summary>Where a caller's credential and address come from on TokenService's public routes.</summary>
public static class CallerCredential
{
    /// <summary>
    /// The credential from <c>x-api-key</c> or <c>Authorization: Bearer</c> (Anthropic and OpenAI clients send one or the
    /// other). Two different values are refused rather than guessing which one the caller meant.
    /// </summary>
    public static bool TryRead(HttpRequest request, out string secret, out ApiError? error)
    {
        secret = "";
        error = null;
        var apiKey = Single(request.Headers["x-api-key"]);
        string? bearer = null;
        if (Single(request.Headers.Authorization) is { } authorization)
        {
            if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                error = ApiError.Authentication("The Authorization header must be \"Bearer <credential>\".");
                return false;
            }

            bearer = authorization["Bearer ".Length..].Trim();
        }

        if (apiKey is { Length: > 0 } && bearer is { Length: > 0 } && !string.Equals(apiKey, bearer, StringComparison.Ordinal))
        {
            error = ApiError.Authentication("x-api-key and Authorization carry different credentials; send one.");
            return false;
        }

        var value = apiKey is { Length: > 0 } ? apiKey : bearer;
        if (string.IsNullOrEmpty(value))
        {
            error = ApiError.Authentication("A credential is required: send it as the x-api-key header or as Authorization: Bearer <credential>.");
            return false;
        }

        secret = value.Trim();
        return true;
    }

    /// <summary>
    /// The client's address: the last <c>X-Forwarded-For</c> entry (the one the Gateway, TokenService's only public
    /// entrance, appended), else the connection's peer.
    /// </summary>
    public static string Address(HttpContext context)
    {
        var forwarded = context.Request.Headers["X-Forwarded-For"];
        for (var i = forwarded.Count - 1; i >= 0; i--)
        {
            var entries = forwarded[i]?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (entries is { Length: > 0 } && IPAddress.TryParse(entries[^1], out var address))
            {
                return address.ToString();
            }
        }

        return context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }

    private static string? Single(Microsoft.Extensions.Primitives.StringValues values) => values.Count == 0 ? null : values[^1];
}
