using System.Net;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Tests.Integration;

[Collection(TokenServiceCollection.Name)]
public sealed class ProjectionRecoveryTests(TokenServiceApp service)
{
    [Fact]
    public async Task After_FLUSHALL_valid_credentials_are_projected_again_without_operator_action()
    {
        var (_, secret) = await service.CreateApiKeyAsync(models: """["claude-sonnet-*"]""");
        var token = (await service.MintAsync(secret, """{"ttl":"1h","agent_name":"survivor"}""")).Body.GetProperty("token").GetString()!;
        var (revokedId, revoked) = await service.CreateApiKeyAsync();
        (await service.AdminAsync(HttpMethod.Delete, $"/admin/credentials/{revokedId}")).AssertStatus(HttpStatusCode.OK);
        var before = await service.ProjectionAsync(secret);

        await using var events = await service.SubscribeAsync();
        await service.Redis.GetServer(service.Redis.GetEndPoints()[0]).FlushAllDatabasesAsync();
        Assert.Null(await service.ProjectionAsync(secret));

        await WaitUntilProjectedAsync(events, secret);

        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(before), System.Text.Json.JsonSerializer.Serialize(await service.ProjectionAsync(secret)));
        Assert.Equal("survivor", (await service.ProjectionAsync(token))!.AgentName);
        Assert.Equal(CredentialKind.AdminKey, (await service.ProjectionAsync(service.AdminKey))!.Kind);
        Assert.Null(await service.ProjectionAsync(revoked));
        Assert.True(await service.Redis.GetDatabase().KeyExistsAsync(RedisKeys.CredentialEpoch));
        var ttl = await service.Redis.GetDatabase().KeyTimeToLiveAsync(RedisKeys.Credential(CredentialFormat.Hash(token)));
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(55), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task An_admin_can_reproject_on_demand()
    {
        var (_, secret) = await service.CreateApiKeyAsync();
        await service.Redis.GetDatabase().KeyDeleteAsync(RedisKeys.Credential(CredentialFormat.Hash(secret)));

        var response = await service.AdminAsync(HttpMethod.Post, "/admin/reproject");

        // Another replica's (or the sentinel's) run may hold the lock for a moment; then the key is back anyway.
        if (response.Status == HttpStatusCode.OK)
        {
            Assert.True(response.Body.GetProperty("projected").GetInt32() >= 2);
        }
        else
        {
            response.AssertError(HttpStatusCode.Conflict, "invalid_request_error");
        }

        await using var events = await service.SubscribeAsync();
        await WaitUntilProjectedAsync(events, secret);
    }

    /// <summary>Re-projection is signalled by <c>reprojected</c>; wait for signals until the key is back.</summary>
    private async Task WaitUntilProjectedAsync(CredentialEvents events, string secret)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await service.ProjectionAsync(secret) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the credential was not re-projected within 30 s");
            try
            {
                await events.WaitForAsync("reprojected", TimeSpan.FromSeconds(2));
            }
            catch (TimeoutException)
            {
                // Checked again above; the message may have come before we subscribed.
            }
        }
    }
}
