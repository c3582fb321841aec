using System.Net;
using System.Text;
using LlmGateway.Gateway.Tests.Infrastructure;
using LlmGateway.Testing;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Forwarding;

public sealed class ControlPlaneFixture : GatewayFixture
{
    public FakeUpstream TokenService { get; private set; } = null!;
    public FakeUpstream UsageWorker { get; private set; } = null!;

    protected override async Task PrepareAsync()
    {
        TokenService = await FakeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = 201;
            context.Response.Headers["x-owner"] = "tokenservice";
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("""{"token":"lgw_agt_x","expires_at":"2026-11-21T13:00:00Z"}""");
        });
        UsageWorker = await FakeUpstream.StartAsync(context =>
        {
            context.Response.Headers["x-owner"] = "usageworker";
            return context.Response.WriteAsync("[]");
        });
    }

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Gateway:ControlPlane:TokenService"] = TokenService.BaseAddress.ToString(),
        ["Gateway:ControlPlane:UsageWorker"] = UsageWorker.BaseAddress.ToString(),
        ["Gateway:SharedResourcesEnabled"] = "true",
    };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await TokenService.DisposeAsync();
        await UsageWorker.DisposeAsync();
    }
}

public sealed class ControlPlaneTests(ControlPlaneFixture fixture) : IClassFixture<ControlPlaneFixture>
{
    [Theory]
    [InlineData("POST", "/v1/tokens", "tokenservice")]
    [InlineData("GET", "/v1/tokens/tok_1?include=usage", "tokenservice")]
    [InlineData("POST", "/bootstrap", "tokenservice")]
    [InlineData("POST", "/refresh", "tokenservice")]
    [InlineData("DELETE", "/admin/keys/key_1", "tokenservice")]
    [InlineData("POST", "/api/auth/login", "tokenservice")]
    [InlineData("POST", "/api/auth/register", "tokenservice")]
    [InlineData("POST", "/api/keys/generate", "tokenservice")]
    [InlineData("GET", "/api/keys/list", "tokenservice")]
    [InlineData("DELETE", "/api/keys/cred_1", "tokenservice")]
    [InlineData("GET", "/.well-known/openid-configuration", "tokenservice")]
    [InlineData("GET", "/.well-known/jwks.json", "tokenservice")]
    [InlineData("GET", "/admin/usage?group_by=model", "usageworker")]
    [InlineData("GET", "/admin/usage/by-day", "usageworker")]
    [InlineData("GET", "/admin/stats", "usageworker")]
    public async Task Control_plane_routes_reach_their_owner_unchanged(string method, string pathAndQuery, string owner)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), pathAndQuery);
        if (method == "POST")
        {
            request.Content = new StringContent("""{"ttl":"1h","agent_name":"my-agent"}""", Encoding.UTF8, "application/json");
        }

        request.Headers.TryAddWithoutValidation("Authorization", "Bearer operator-bootstrap-key-any-string");
        request.Headers.TryAddWithoutValidation("x-api-key", "lgw_key_whatever");

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(owner, response.Headers.GetValues("x-owner").Single());
        var target = owner == "tokenservice" ? fixture.TokenService : fixture.UsageWorker;
        var seen = target.Requests.Last();
        Assert.Equal(method, seen.Method);
        Assert.Equal(pathAndQuery, seen.PathAndQuery);
        Assert.Equal("Bearer operator-bootstrap-key-any-string", seen.Header("Authorization"));
        Assert.Equal("lgw_key_whatever", seen.Header("x-api-key"));
        Assert.Equal("127.0.0.1", seen.Header("X-Forwarded-For"));
        Assert.Equal("http", seen.Header("X-Forwarded-Proto"));
        Assert.Equal(response.Headers.GetValues("request-id").Single(), seen.Header("request-id"));
        if (method == "POST")
        {
            Assert.Equal("""{"ttl":"1h","agent_name":"my-agent"}""", Encoding.UTF8.GetString(seen.Body));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal("""{"token":"lgw_agt_x","expires_at":"2026-11-21T13:00:00Z"}""", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_control_plane_service_that_is_down_is_a_502_not_a_500()
    {
        await using var gateway = await InProcessGateway.StartAsync(fixture.Redis, fixture.Upstream.BaseAddress,
            new Dictionary<string, string?> { ["Gateway:ControlPlane:TokenService"] = $"http://127.0.0.1:{RedisServer.FreePort()}" });
        using var client = gateway.CreateClient();
        using var response = await client.PostAsync("/v1/tokens", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("api_error", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Other_v1_routes_are_forwarded_transparently_after_authentication()
    {
        var (secret, projection) = await fixture.CreateCredentialAsync();
        fixture.Upstream.Handler = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("""{"data":[],"has_more":false}""");
        };

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/skills?limit=5");
        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        request.Headers.TryAddWithoutValidation("anthropic-beta", "files-api-2025-04-14");
        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"data":[],"has_more":false}""", await response.Content.ReadAsStringAsync());
        var seen = fixture.Upstream.Requests.Last();
        Assert.Equal("/v1/skills?limit=5", seen.PathAndQuery);
        Assert.Equal(TestSecrets.UpstreamKey, seen.Header("x-api-key"));
        Assert.Equal("files-api-2025-04-14", seen.Header("anthropic-beta"));
        var usage = await UsageStream.WaitForAsync(fixture.RedisClient, response.Headers.GetValues("request-id").Single());
        Assert.Equal(projection.Id, usage["credential_id"]);
        Assert.Equal("/v1/skills", usage["route"]);

        using var anonymous = await fixture.Client.GetAsync("/v1/skills");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task A_batch_may_only_name_allowed_models()
    {
        var (secret, _) = await fixture.CreateCredentialAsync(models: ["claude-haiku-*"]);
        fixture.Upstream.Handler = context => context.Response.WriteAsync("""{"id":"msgbatch_1","type":"message_batch"}""");
        HttpRequestMessage Batch(string model)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages/batches")
            {
                Content = new StringContent($$$"""{"requests":[{"custom_id":"a","params":{"model":"{{{model}}}","max_tokens":5,"messages":[]}}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.TryAddWithoutValidation("x-api-key", secret);
            return request;
        }

        using (var denied = await fixture.Client.SendAsync(Batch("claude-opus-4-6")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        using var allowed = await fixture.Client.SendAsync(Batch("claude-haiku-4-5"));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("claude-haiku-4-5", Encoding.UTF8.GetString(fixture.Upstream.Requests.Last().Body));
    }
}

/// <summary>
/// Paths another server would read differently are refused before routing: nothing is forwarded, so no encoded
/// backslash or dot segment can walk from a public route into TokenService's <c>/internal/*</c>.
/// </summary>
public sealed class NonCanonicalPathTests(ControlPlaneFixture fixture) : IClassFixture<ControlPlaneFixture>
{
    [Theory]
    [InlineData("POST", "/admin/%2e%2e%5c%2e%2e%5cinternal%5cintrospect")]
    [InlineData("POST", "/admin/..%5c..%5cinternal%5cintrospect")]
    [InlineData("POST", "/admin/credentials%2f..%2f..%2finternal%2fintrospect")]
    [InlineData("GET", "/admin/usage%3Fx=1")]
    [InlineData("POST", "/v1//messages")]
    [InlineData("POST", "/v1/messages;x")]
    [InlineData("POST", "/v1/tokens/%01")]
    [InlineData("GET", "/admin/%C3%A9")]
    public async Task A_non_canonical_path_is_a_400_and_reaches_no_service(string method, string rawPath)
    {
        var tokenService = fixture.TokenService.Requests.Count;
        var usageWorker = fixture.UsageWorker.Requests.Count;
        var upstream = fixture.Upstream.Requests.Count;

        // Sent byte for byte (as curl --path-as-is does): HttpClient would normalize the path first.
        var (status, body) = await RawHttp.SendAsync(fixture.Gateway.BaseAddress, method, rawPath,
            ("x-api-key", "lgw_key_whatever"), ("content-type", "application/json"));

        Assert.Equal(400, status);
        Assert.Contains("\"type\":\"invalid_request_error\"", body);
        Assert.Contains("is not valid", body);
        Assert.Equal(tokenService, fixture.TokenService.Requests.Count);
        Assert.Equal(usageWorker, fixture.UsageWorker.Requests.Count);
        Assert.Equal(upstream, fixture.Upstream.Requests.Count);
    }
}
