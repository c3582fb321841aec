using System.Net;
using LlmGateway.ServiceDefaults.Tests.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace LlmGateway.ServiceDefaults.Tests.ServiceDiscovery;

/// <summary>
/// The defaults put service discovery and the standard resilience handler on every factory client: a call to
/// <c>http://tokenservice</c> reaches the address the AppHost gave that name, and a transient failure is retried.
/// </summary>
public sealed class ServiceDiscoveryHttpClientTests
{
    [Fact]
    public async Task A_factory_client_resolves_a_service_name_from_configuration_and_retries_a_transient_failure()
    {
        var calls = 0;
        await using var target = await TestService.StartAsync(configureApp: app => app.MapGet("/v1/tokens", (HttpContext context) =>
            Interlocked.Increment(ref calls) == 1 ? Results.StatusCode(503) : Results.Text($"answered {context.Request.QueryString}")));
        await using var caller = await TestService.StartAsync(configuration: new Dictionary<string, string?>
        {
            ["services:tokenservice:http:0"] = target.Client.BaseAddress!.ToString(),
        });
        using var client = caller.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        using var response = await client.GetAsync("http://tokenservice/v1/tokens?x=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("answered ?x=1", await response.Content.ReadAsStringAsync());
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task An_unknown_name_passes_through_as_a_host_name()
    {
        await using var target = await TestService.StartAsync(configureApp: app => app.MapGet("/ping", () => "pong"));
        await using var caller = await TestService.StartAsync();
        using var client = caller.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        // Not in configuration: resolved by DNS, as Kubernetes service names are.
        using var response = await client.GetAsync(new UriBuilder(target.Client.BaseAddress!) { Host = "localhost", Path = "/ping" }.Uri);

        Assert.Equal("pong", await response.Content.ReadAsStringAsync());
    }
}
