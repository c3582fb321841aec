using System.Net;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Extensions;
using LlmGateway.TokenService.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

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

    [Fact]
    public async Task Started_while_PostgreSQL_is_down_it_answers_writes_with_503_and_opens_once_the_schema_is_migrated()
    {
        // A second replica, in this process so that it can start while PostgreSQL is down (the AppHost starts a service
        // only once its dependencies are healthy). Same database, Redis and admin key as the AppHost's replica.
        const string Create = """{"name":"opened","owner":{"type":"user","id":"after-outage"}}""";
        InProcessReplica? replica = null;
        try
        {
            await service.App.StopResourceAsync("postgres");
            try
            {
                replica = await InProcessReplica.StartAsync(service);
                var create = await service.SendAsync(HttpMethod.Post, "/admin/credentials", Create, service.AdminKey, via: replica.Http);
                Assert.Contains("not ready yet", create.AssertError(HttpStatusCode.ServiceUnavailable, "api_error"), StringComparison.Ordinal);
                Assert.NotNull(create.Headers.RetryAfter);

                var health = await replica.HealthAsync();
                Assert.Equal(HealthStatus.Unhealthy, health.Entries["tokenservice_schema"].Status);
                Assert.Equal(HealthStatus.Unhealthy, health.Entries["credential-store"].Status);
                Assert.Equal(HttpStatusCode.OK, (await replica.Http.GetAsync("/alive")).StatusCode);
                var introspect = $$"""{"hash":"{{CredentialFormat.Hash(service.AdminKey)}}"}""";
                (await service.SendAsync(HttpMethod.Post, "/internal/introspect", introspect, via: replica.Http, internalKey: service.InternalKey)).AssertStatus(HttpStatusCode.OK);
            }
            finally
            {
                await service.App.StartResourceAsync("postgres");
            }

            // The migrator retries in the background; once it reports migrated the bootstrap key is stored and the store opens.
            await replica.Services.GetRequiredService<DatabaseReadiness>().WaitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
            var created = await service.SendAsync(HttpMethod.Post, "/admin/credentials", Create, service.AdminKey, via: replica.Http);
            created.AssertStatus(HttpStatusCode.Created);
            service.Secrets.Add(created.Body.GetProperty("secret").GetString()!);
            var healthy = await replica.HealthAsync();
            Assert.Equal(HealthStatus.Healthy, healthy.Entries["tokenservice_schema"].Status);
            Assert.Equal(HealthStatus.Healthy, healthy.Entries["credential-store"].Status);
            await service.WaitForDatabaseAsync();
        }
        finally
        {
            if (replica is not null)
            {
                await replica.DisposeAsync();
            }
        }
    }
}
