using LlmGateway.AdminUi.Authentication;

namespace LlmGateway.AdminUi.Clients;

/// <summary>
/// Gives every API request the signed-in person's credential (or one set explicitly on the request, as the sign-in
/// check does), so no page can call an API as anyone else and no API client handles keys itself.
/// </summary>
public sealed class ApiCredentialHandler(IHttpContextAccessor http) : DelegatingHandler
{
    /// <summary>A credential to present instead of the session's (the key being checked at sign-in).</summary>
    public static readonly HttpRequestOptionsKey<SessionCredential> ExplicitCredential = new("lgw.explicit_credential");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var context = http.HttpContext;
        var fromSession = !request.Options.TryGetValue(ExplicitCredential, out var credential);
        if (fromSession)
        {
            credential = SessionClaims.CredentialOf(context?.User);
        }

        credential?.ApplyTo(request);
        var response = await base.SendAsync(request, cancellationToken);
        if (fromSession && credential is not null && context is not null && response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
        {
            SessionRejectedFilter.MarkRejected(context);
        }

        return response;
    }
}
