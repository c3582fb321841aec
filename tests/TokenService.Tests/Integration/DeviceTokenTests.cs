using System.Net;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.TokenService.Tests.Integration;

[Collection(TokenServiceCollection.Name)]
public sealed class DeviceTokenTests(TokenServiceApp service)
{
    [Fact]
    public async Task Bootstrap_and_refresh_follow_the_device_token_flow()
    {
        var bootstrap = await service.SendAsync(HttpMethod.Post, "/bootstrap", """{"device_id":"laptop-42","app_version":"1.0.0"}""", clientAddress: "192.0.2.10");
        bootstrap.AssertStatus(HttpStatusCode.OK);
        var first = bootstrap.Body.GetProperty("wrapper_token").GetString()!;
        service.Secrets.Add(first);
        Assert.StartsWith("lgw_dev_", first, StringComparison.Ordinal);
        Assert.StartsWith("http://", bootstrap.Body.GetProperty("proxy_base_url").GetString(), StringComparison.Ordinal);
        Assert.True(bootstrap.Body.TryGetProperty("expires_at", out _));
        var projection = await service.ProjectionAsync(first);
        Assert.Equal(CredentialKind.DeviceToken, projection!.Kind);
        Assert.Equal("laptop-42", projection.DeviceId);
        Assert.Equal(new CredentialOwner { Type = "device", Id = "laptop-42" }, projection.Owner);

        await using var events = await service.SubscribeAsync();
        var refresh = await service.SendAsync(HttpMethod.Post, "/refresh", credential: first, bearer: true);
        refresh.AssertStatus(HttpStatusCode.OK);
        var second = refresh.Body.GetProperty("wrapper_token").GetString()!;
        service.Secrets.Add(second);
        Assert.NotEqual(first, second);
        await events.WaitForAsync("updated:" + CredentialFormat.Hash(first));

        // The old token keeps working for the grace period only (requests in flight), and cannot be refreshed again.
        var graceTtl = await service.Redis.GetDatabase().KeyTimeToLiveAsync(RedisKeys.Credential(CredentialFormat.Hash(first)));
        Assert.InRange(graceTtl!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        var again = await service.SendAsync(HttpMethod.Post, "/refresh", credential: first, bearer: true);
        Assert.Contains("already refreshed", again.AssertError(HttpStatusCode.Unauthorized, "authentication_error"), StringComparison.Ordinal);
        (await service.IntrospectAsync(second)).AssertStatus(HttpStatusCode.OK);

        var devices = await service.AdminAsync(HttpMethod.Get, "/admin/devices?limit=1000");
        var device = devices.Body.GetProperty("data").EnumerateArray().Single(d => d.GetProperty("device_id").GetString() == "laptop-42");
        Assert.Equal("1.0.0", device.GetProperty("app_version").GetString());
        Assert.Equal(2, device.GetProperty("active_tokens").GetInt64());
    }

    [Fact]
    public async Task Only_device_tokens_can_be_refreshed()
    {
        var (_, apiKey) = await service.CreateApiKeyAsync();
        var response = await service.SendAsync(HttpMethod.Post, "/refresh", credential: apiKey, bearer: true);
        Assert.Contains("Only device tokens", response.AssertError(HttpStatusCode.Forbidden, "permission_error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bootstrap_is_rate_limited_per_client_address()
    {
        for (var i = 0; i < TokenServiceApp.BootstrapPerMinute; i++)
        {
            var ok = await service.SendAsync(HttpMethod.Post, "/bootstrap", $$"""{"device_id":"burst-{{i}}"}""", clientAddress: "198.51.100.99");
            ok.AssertStatus(HttpStatusCode.OK);
            service.Secrets.Add(ok.Body.GetProperty("wrapper_token").GetString()!);
        }

        var limited = await service.SendAsync(HttpMethod.Post, "/bootstrap", """{"device_id":"burst-x"}""", clientAddress: "198.51.100.99");
        limited.AssertError(HttpStatusCode.TooManyRequests, "rate_limit_error");
        Assert.True(limited.Headers.RetryAfter is not null);

        var other = await service.SendAsync(HttpMethod.Post, "/bootstrap", """{"device_id":"burst-y"}""", clientAddress: "198.51.100.100");
        other.AssertStatus(HttpStatusCode.OK);
        service.Secrets.Add(other.Body.GetProperty("wrapper_token").GetString()!);
    }

    [Theory]
    [InlineData("{}", "device_id is required")]
    [InlineData("""{"device_id":"has space"}""", "device_id may only contain")]
    [InlineData("""{"device_id":"d","extra":1}""", "Unknown field 'extra'")]
    public async Task Bad_bootstrap_requests_are_rejected(string request, string message)
    {
        var response = await service.SendAsync(HttpMethod.Post, "/bootstrap", request, clientAddress: "203.0.113." + Random.Shared.Next(1, 250));
        Assert.Contains(message, response.AssertError(HttpStatusCode.BadRequest, "invalid_request_error"), StringComparison.Ordinal);
    }
}
