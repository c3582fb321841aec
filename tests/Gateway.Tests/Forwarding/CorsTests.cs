using System.Net;
using LlmGateway.Gateway.Tests.Infrastructure;

namespace LlmGateway.Gateway.Tests.Forwarding;

public sealed class CorsGatewayFixture : GatewayFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Gateway:Cors:AllowedOrigins:0"] = "https://app.example.com",
    };
}

public sealed class CorsTests(CorsGatewayFixture fixture) : IClassFixture<CorsGatewayFixture>
{
    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/v1/messages");
        request.Headers.TryAddWithoutValidation("Origin", origin);
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Method", "POST");
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", "x-api-key,anthropic-version,content-type");
        return request;
    }

    [Fact]
    public async Task A_configured_origin_may_call_the_api_from_a_browser()
    {
        using var response = await fixture.Client.SendAsync(Preflight("https://app.example.com"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("https://app.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var other = await fixture.Client.SendAsync(Preflight("https://evil.example.com"));
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Errors_also_carry_the_cors_headers_so_browsers_can_read_them()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent("{}") };
        request.Headers.TryAddWithoutValidation("Origin", "https://app.example.com");
        using var response = await fixture.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("https://app.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("request-id", response.Headers.GetValues("Access-Control-Expose-Headers").Single());
    }
}

/// <summary>CORS is off unless configured.</summary>
public sealed class CorsOffTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task Without_configuration_no_cors_headers_are_sent()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent("{}") };
        request.Headers.TryAddWithoutValidation("Origin", "https://app.example.com");
        using var response = await fixture.Client.SendAsync(request);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
