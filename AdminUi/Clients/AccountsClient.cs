using System.Text.Json.Serialization;
using LlmGateway.AdminUi.Model;

namespace LlmGateway.AdminUi.Clients;

/// <summary>
/// TokenService's account routes (<c>/api/auth/*</c>, seed 003), called on the gateway's public address like every
/// other API. Sign-in is the one call made without a session credential: the answer is the credential.
/// </summary>
public sealed class AccountsClient(HttpClient http, ILogger<AccountsClient> logger) : ApiClient(http, logger, "TokenService")
{
    public Task<ApiResult<LoginAnswer>> LoginAsync(string email, string password, CancellationToken ct) =>
        SendJsonAsync<LoginAnswer>(HttpMethod.Post, "/api/auth/login", new LoginRequest(email, password), ct);

    /// <summary>The signed-in person's own keys (<c>GET /api/keys/list</c>): <c>active</c>, or <c>all</c> with revoked and expired ones.</summary>
    public Task<ApiResult<ListPage<CredentialView>>> ListKeysAsync(bool includeInactive, CancellationToken ct) =>
        GetAsync<ListPage<CredentialView>>("/api/keys/list?status=" + (includeInactive ? "all" : "active"), ct);

    /// <summary><c>POST /api/keys/generate</c>: an API key of their own; the answer carries its secret, once.</summary>
    public Task<ApiResult<CredentialView>> GenerateKeyAsync(string? name, IReadOnlyList<string>? models, string? expiresIn, CancellationToken ct) =>
        SendJsonAsync<CredentialView>(HttpMethod.Post, "/api/keys/generate", new GenerateKeyRequest(name, models, expiresIn), ct);

    /// <summary><c>DELETE /api/keys/{id}</c>: revoked at once on every gateway.</summary>
    public Task<ApiResult<bool>> DeleteKeyAsync(string id, CancellationToken ct) =>
        SendWithoutAnswerAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/keys/" + Uri.EscapeDataString(id)), ct);

    private sealed record GenerateKeyRequest(
        [property: JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
        [property: JsonPropertyName("models"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Models,
        [property: JsonPropertyName("expires_in"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ExpiresIn);

    private sealed record LoginRequest([property: JsonPropertyName("email")] string Email, [property: JsonPropertyName("password")] string Password);
}

/// <summary><c>POST /api/auth/login</c>: a JWT for the person, and who they are.</summary>
public sealed record LoginAnswer
{
    [JsonPropertyName("token")] public required string Token { get; init; }
    [JsonPropertyName("expires_at")] public DateTimeOffset? ExpiresAt { get; init; }
    [JsonPropertyName("user")] public required AccountUser User { get; init; }
}

public sealed record AccountUser
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("email")] public required string Email { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("role")] public required string Role { get; init; }
    [JsonPropertyName("organization_id")] public string? OrganizationId { get; init; }
}
