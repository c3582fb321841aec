using System.Net;
using Microsoft.Extensions.DependencyInjection;
using LlmGateway.ServiceDefaults.Tests.Fakes;
using LlmGateway.ServiceDefaults.Tests.Resilience;

namespace LlmGateway.ServiceDefaults.Tests.ServiceDiscovery;

public sealed class ServiceDiscoveryHttpClientTests
{
    [Fact]
    public async Task Every_factory_client_resolves_service_names_and_leaves_the_callers_request_untouched()
    {
        using var fixture = ResilientClient.Create(null,
            new Dictionary<string, string?> { ["services:tokenservice:http:0"] = "http://127.0.0.1:5123" },
            null,
            ScriptedHandler.Status(200));
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://tokenservice/v1/tokens?x=1");

        using var response = await fixture.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Uri("http://127.0.0.1:5123/v1/tokens?x=1"), Assert.Single(fixture.Handler.Sent).Uri);
        Assert.Equal(new Uri("http://tokenservice/v1/tokens?x=1"), request.RequestUri);
    }

    [Fact]
    public async Task Each_retry_resolves_again_so_round_robin_moves_to_the_next_endpoint()
    {
        using var fixture = ResilientClient.Create(ResilientClient.NoJitter,
            new Dictionary<string, string?>
            {
                ["services:tokenservice:http:0"] = "http://127.0.0.1:5001",
                ["services:tokenservice:http:1"] = "http://127.0.0.1:5002",
            },
            null,
            ScriptedHandler.Status(503), ScriptedHandler.Status(200));

        var call = fixture.Client.GetAsync("http://tokenservice/x");
        await fixture.Clock.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        using var response = await call.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([5001, 5002], fixture.Handler.Sent.Select(s => s.Uri.Port));
    }

    [Fact]
    public async Task A_client_without_resilience_still_resolves_service_names()
    {
        using var fixture = ResilientClient.Create(null,
            new Dictionary<string, string?> { ["services:upstream:http:0"] = "http://127.0.0.1:7001/api/" },
            client => client.WithoutStandardResilience(),
            ScriptedHandler.Status(200));

        using var response = await fixture.Client.GetAsync("/v1/messages").WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(new Uri("http://127.0.0.1:7001/api/v1/messages"), Assert.Single(fixture.Handler.Sent).Uri);
    }
}
