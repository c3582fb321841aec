using System.Net;
using System.Text.Json;
using LlmGateway.AdminUi.Model;

namespace LlmGateway.AdminUi.Clients;

/// <summary>
/// What the gateway itself serves to operators: its health report (upstream, key, Redis), the limits it enforces for
/// a credential with live counters, and its circuit breakers once it has them.
/// </summary>
public sealed class GatewayClient(HttpClient http, ILogger<GatewayClient> logger) : ApiClient(http, logger, "The gateway")
{
    public const string CircuitBreakerPath = "/admin/circuit-breaker";

    /// <summary><c>GET /health</c>; an unhealthy gateway answers 503 with the same report, which is what we want to show.</summary>
    public Task<ApiResult<GatewayHealth>> GetHealthAsync(CancellationToken ct) =>
        SendAsync<GatewayHealth>(new HttpRequestMessage(HttpMethod.Get, "/health"), ct,
            accept: response => response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.ServiceUnavailable);

    public Task<ApiResult<CredentialLimitsReport>> GetLimitsAsync(string credentialId, CancellationToken ct) =>
        GetAsync<CredentialLimitsReport>("/admin/credentials/" + Segment(credentialId) + "/limits", ct);

    /// <summary>
    /// <c>GET /admin/circuit-breaker</c> as the gateway answers it. A 404 or 405 means this gateway does not offer
    /// breakers (yet); the page says so rather than inventing any.
    /// </summary>
    public Task<ApiResult<JsonElement>> GetCircuitBreakersAsync(CancellationToken ct) =>
        GetAsync<JsonElement>(CircuitBreakerPath, ct);

    /// <summary><c>POST /admin/circuit-breaker/reset</c>: closes every breaker. Whatever body the answer has is not needed.</summary>
    public Task<ApiResult<bool>> ResetCircuitBreakersAsync(CancellationToken ct) =>
        SendWithoutAnswerAsync(new HttpRequestMessage(HttpMethod.Post, CircuitBreakerPath + "/reset"), ct);
}
