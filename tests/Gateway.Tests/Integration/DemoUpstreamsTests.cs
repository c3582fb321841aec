using System.Net;
using System.Text.Json;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>Demo mode's two providers, as the AppHost configures them.</summary>
[Collection(AppCollection.Name)]
public sealed class DemoUpstreamsTests(AppFixture app)
{
    [Fact]
    public async Task Demo_mode_routes_to_two_providers_and_lists_their_breakers_to_the_admin()
    {
        using var response = await app.AdminAsync(HttpMethod.Get, "/admin/circuit-breaker");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var breakers = document.RootElement.GetProperty("breakers").EnumerateArray()
            .ToDictionary(b => b.GetProperty("name").GetString()!, b => b.Clone());
        // The OpenAI-compatible simulator is a named upstream: its breaker is on.
        var openAi = breakers["openai"];
        Assert.Equal("openai", openAi.GetProperty("upstream").GetString());
        Assert.True(openAi.GetProperty("enabled").GetBoolean());
        Assert.Equal("closed", openAi.GetProperty("state").GetString());
        // The Anthropic simulator is the default upstream, listed too.
        Assert.Contains("upstream", breakers.Keys);
    }
}
