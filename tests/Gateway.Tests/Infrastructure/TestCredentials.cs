using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Infrastructure;

/// <summary>Creates credentials the way TokenService does: only the projection, keyed by hash, goes to Redis.</summary>
public static class TestCredentials
{
    public static async Task<(string Secret, CredentialProjection Projection)> CreateAsync(
        IConnectionMultiplexer redis,
        IReadOnlyList<string>? models = null,
        CredentialKind kind = CredentialKind.ApiKey,
        DateTimeOffset? expiresAt = null,
        IReadOnlyList<string>? routes = null)
    {
        var secret = CredentialFormat.Generate(kind);
        var projection = new CredentialProjection
        {
            Id = "cred_" + Guid.NewGuid().ToString("N")[..12],
            Kind = kind,
            Hint = CredentialFormat.Redact(secret),
            Owner = new CredentialOwner { Type = "organization", Id = "org_test", Name = "Test org", OrganizationId = "org_test" },
            AgentName = kind == CredentialKind.AgentToken ? "test-agent" : null,
            Models = models ?? ["*"],
            Routes = routes ?? ["*"],
            ExpiresAt = expiresAt,
        };
        await redis.GetDatabase().StringSetAsync(RedisKeys.Credential(CredentialFormat.Hash(secret)), JsonSerializer.Serialize(projection));
        return (secret, projection);
    }
}
