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

    [Fact]
    public async Task While_Redis_is_down_TokenService_stays_ready_keeps_issuing_and_catches_up_afterwards()
    {
        var (keptId, kept) = await service.CreateApiKeyAsync();
        var (revokedId, revoked) = await service.CreateApiKeyAsync();
        string issuedDuringOutage;
        await service.App.StopResourceAsync("redis");
        try
        {
            // Ready (Degraded is 200): the Gateway's introspection fallback needs TokenService most when Redis is down.
            // The Redis check notices the outage on its next probe, not at the instant the process stops.
            HttpResponseMessage health;
            using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                while (true)
                {
                    health = await service.Http.GetAsync("/health", patience.Token);
                    if (await health.Content.ReadAsStringAsync(patience.Token) != "Healthy")
                    {
                        break;
                    }

                    await Task.Delay(100, patience.Token);
                }
            }

            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("Degraded", await health.Content.ReadAsStringAsync());

            var minted = await service.MintAsync(kept, """{"ttl":"1h"}""");
            minted.AssertStatus(HttpStatusCode.OK);
            issuedDuringOutage = minted.Body.GetProperty("token").GetString()!;
            (await service.AdminAsync(HttpMethod.Delete, $"/admin/credentials/{revokedId}")).AssertStatus(HttpStatusCode.OK);
            (await service.IntrospectAsync(issuedDuringOutage)).AssertStatus(HttpStatusCode.OK);
            (await service.IntrospectAsync(revoked)).AssertError(HttpStatusCode.NotFound, "revoked");
        }
        finally
        {
            await service.App.StartResourceAsync("redis");
            await service.WaitForRedisAsync();
        }

        await using var events = await service.SubscribeAsync();
        await WaitUntilProjectedAsync(events, issuedDuringOutage);
        Assert.Equal(keptId, (await service.ProjectionAsync(kept))!.Id);
        Assert.Null(await service.ProjectionAsync(revoked));
    }

    [Fact]
    public async Task A_reprojection_removes_the_key_of_a_credential_revoked_while_Redis_missed_the_delete()
    {
        var (id, secret) = await service.CreateApiKeyAsync();
        var key = RedisKeys.Credential(CredentialFormat.Hash(secret));
        var stale = (string)(await service.Redis.GetDatabase().StringGetAsync(key))!;
        (await service.AdminAsync(HttpMethod.Delete, $"/admin/credentials/{id}")).AssertStatus(HttpStatusCode.OK);

        // As if the revocation's delete never reached Redis (it was unreachable and then came back with its data).
        await service.Redis.GetDatabase().StringSetAsync(key, stale);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await service.Redis.GetDatabase().KeyExistsAsync(key))
        {
            Assert.True(DateTime.UtcNow < deadline, "the stale key of a revoked credential was not removed");
            var response = await service.AdminAsync(HttpMethod.Post, "/admin/reproject");
            Assert.True(response.Status is HttpStatusCode.OK or HttpStatusCode.Conflict, response.Text);
        }
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
