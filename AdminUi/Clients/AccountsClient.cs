using System.Text.Json.Serialization;

namespace LlmGateway.AdminUi.Clients;

/// <summary>
/// TokenService's account routes (<c>/api/auth/*</c>, seed 003), called on the gateway's public address like every
/// other API. Sign-in is the one call made without a session credential: the answer is the credential.
/// </summary>
public sealed class AccountsClient(HttpClient http, ILogger<AccountsClient> logger) : ApiClient(http, logger, "TokenService")
{
    public Task<ApiResult<LoginAnswer>> LoginAsync(string email, string password, CancellationToken ct) =>
        SendJsonAsync<LoginAnswer>(HttpMethod.Post, "/api/auth/login", new LoginRequest(email, password), ct);

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
