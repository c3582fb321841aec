using System.Net;

namespace LlmGateway.TokenService.Tests.Integration;

[Collection(TokenServiceCollection.Name)]
public sealed class DatabaseOutageTests(TokenServiceApp service)
{
    [Fact]
    public async Task With_PostgreSQL_down_writes_get_a_clear_503_and_the_service_stays_up()
    {
        var (_, secret) = await service.CreateApiKeyAsync();
        await service.App.StopResourceAsync("postgres");
        try
        {
            var create = await service.AdminAsync(HttpMethod.Post, "/admin/credentials", """{"owner":{"type":"user","id":"during-outage"}}""");
            Assert.Contains("unreachable", create.AssertError(HttpStatusCode.ServiceUnavailable, "api_error"), StringComparison.Ordinal);
            Assert.NotNull(create.Headers.RetryAfter);
            (await service.MintAsync(secret, "{}")).AssertError(HttpStatusCode.ServiceUnavailable, "api_error");

            // Alive, and still able to vouch for the operator's key without the database.
            Assert.Equal(HttpStatusCode.OK, (await service.Http.GetAsync("/alive")).StatusCode);
            (await service.IntrospectAsync(service.AdminKey)).AssertStatus(HttpStatusCode.OK);
        }
        finally
        {
            await service.App.StartResourceAsync("postgres");
        }

        // Back without a restart of TokenService (the first attempts may still meet connections the pool had open).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        ApiResponse response;
        while ((response = await service.MintAsync(secret, "{}")).Status != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, $"still failing after PostgreSQL came back: {response.Text}");
            await Task.Delay(200);
        }
    }
}
