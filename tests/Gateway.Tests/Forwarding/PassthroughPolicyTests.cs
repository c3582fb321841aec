using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LlmGateway.Gateway.Tests.Forwarding;

/// <summary>What the gateway refuses to forward with the one upstream key every caller shares.</summary>
public sealed class PassthroughPolicyTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Theory]
    [InlineData("/v1/messages", "text/plain")]
    [InlineData("/v1/messages", "application/x-www-form-urlencoded")]
    [InlineData("/v1/messages/count_tokens", "text/plain")]
    [InlineData("/v1/chat/completions", "text/plain")]
    [InlineData("/v1/complete", null)]
    public async Task A_model_request_whose_body_is_not_json_is_a_415_and_is_not_forwarded(string path, string? contentType)
    {
        var (secret, _) = await fixture.CreateCredentialAsync(models: ["claude-haiku-*"]);
        var before = fixture.Upstream.Requests.Count;
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            // A model outside the allowlist: read as JSON it would be refused, so it must not slip through as text.
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"model":"claude-opus-4-6","max_tokens":4000,"messages":[{"role":"user","content":"hi"}]}""")),
        };
        if (contentType is not null)
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("content-type: application/json", await response.Content.ReadAsStringAsync());
        Assert.Equal(before, fixture.Upstream.Requests.Count);
    }

    [Theory]
    [InlineData("GET", "/v1/messages/batches")]
    [InlineData("GET", "/v1/messages/batches/msgbatch_1/results")]
    [InlineData("POST", "/v1/messages/batches")]
    [InlineData("GET", "/v1/files")]
    [InlineData("GET", "/v1/files/file_1/content")]
    [InlineData("GET", "/v1/organizations/users")]
    public async Task Batches_files_and_the_organization_api_are_refused_by_default(string method, string path)
    {
        var (secret, _) = await fixture.CreateCredentialAsync();
        var before = fixture.Upstream.Requests.Count;
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("""{"requests":[]}""", Encoding.UTF8, "application/json");
        }

        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("permission_error", await response.Content.ReadAsStringAsync());
        Assert.Equal(before, fixture.Upstream.Requests.Count);
    }
}

public sealed class SharedResourcesFixture : GatewayFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Gateway:SharedResourcesEnabled"] = "true" };
}

/// <summary>With batches and files turned on, each is served only to the credential family that created it.</summary>
public sealed class SharedResourcesTests(SharedResourcesFixture fixture) : IClassFixture<SharedResourcesFixture>
{
    [Fact]
    public async Task A_batch_is_served_to_the_key_that_created_it_and_its_tokens_and_to_nobody_else()
    {
        var batchId = "msgbatch_" + Guid.NewGuid().ToString("N");
        fixture.Upstream.Handler = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync($$"""{"id":"{{batchId}}","type":"message_batch","processing_status":"in_progress"}""");
        };
        var (owner, ownerProjection) = await fixture.CreateCredentialAsync();
        var (other, _) = await fixture.CreateCredentialAsync();

        using (var created = await SendAsync(HttpMethod.Post, "/v1/messages/batches", owner,
            """{"requests":[{"custom_id":"a","params":{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}}]}"""))
        {
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        using (var mine = await SendAsync(HttpMethod.Get, $"/v1/messages/batches/{batchId}", owner))
        {
            Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
        }

        var before = fixture.Upstream.Requests.Count;
        using (var theirs = await SendAsync(HttpMethod.Get, $"/v1/messages/batches/{batchId}/results", other))
        {
            Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
            Assert.Contains("not_found_error", await theirs.Content.ReadAsStringAsync());
        }

        using (var list = await SendAsync(HttpMethod.Get, "/v1/messages/batches", owner))
        {
            Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        }

        Assert.Equal(before, fixture.Upstream.Requests.Count);
        Assert.NotNull(ownerProjection);
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string secret, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        return fixture.Client.SendAsync(request);
    }
}
