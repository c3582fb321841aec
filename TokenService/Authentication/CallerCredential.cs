using System.Net;
using LlmGateway.Identity;
using LlmGateway.TokenService.Apis;

namespace LlmGateway.TokenService.Authentication;

/// <summary>Where a caller's credential and address come from on TokenService's public routes.</summary>
public static class CallerCredential
{
    /// <summary>
    /// The credential by the rule every service shares (<see cref="CallerCredentialHeaders"/>): <c>x-api-key</c> or
    /// <c>Authorization: Bearer</c>; two different values, a repeated header or another scheme are refused.
    /// </summary>
    public static bool TryRead(HttpRequest request, out string secret, out ApiError? error)
    {
        error = CallerCredentialHeaders.ReadString(request.Headers, out var value) switch
        {
            CallerCredentialPresence.Present => null,
            CallerCredentialPresence.Conflicting => ApiError.Authentication(CallerCredentialHeaders.ConflictingMessage),
            CallerCredentialPresence.Unreadable => ApiError.Authentication(UnreadableMessage(request.Headers)),
            _ => ApiError.Authentication("A credential is required: send it as the x-api-key header or as Authorization: Bearer <credential>."),
        };
        secret = value ?? "";
        return error is null;
    }

    private static string UnreadableMessage(IHeaderDictionary headers) =>
        headers.Authorization.Count == 1 && !headers.Authorization.ToString().TrimStart().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? "The Authorization header must be \"Bearer <credential>\"."
            : CallerCredentialHeaders.UnreadableMessage;

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
}
