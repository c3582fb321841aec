using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlmGateway.ServiceDefaults.Requests;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>
/// One request id per request across the Gateway, TokenService and UsageWorker: the <c>request-id</c> header and the
/// error body's <c>request_id</c> agree whichever service answered, a caller's <c>x-request-id</c> is not adopted,
/// every error has a body, and no response names the server.
/// </summary>
[Collection(ReplicatedAppCollection.Name)]
public sealed class RequestIdTests(ReplicatedAppFixture app)
{
    [Theory]
    [InlineData("GET", "/admin/usage?bogus=1", null, HttpStatusCode.BadRequest, "invalid_request_error")] // UsageWorker
    [InlineData("GET", "/admin/usage/nope", null, HttpStatusCode.NotFound, "not_found_error")] // UsageWorker, no route
    [InlineData("GET", "/admin/stats?window=999999d", null, HttpStatusCode.BadRequest, "invalid_request_error")]
    [InlineData("GET", "/admin/stats?credential_id=%00", null, HttpStatusCode.BadRequest, "invalid_request_error")]
    [InlineData("GET", "/admin/usage?credential_id=%00", null, HttpStatusCode.BadRequest, "invalid_request_error")]
    [InlineData("GET", "/admin/usage/export?model=a%0Ab", null, HttpStatusCode.BadRequest, "invalid_request_error")]
    [InlineData("POST", "/admin/credentials", "{\"name\":", HttpStatusCode.BadRequest, "invalid_request_error")] // TokenService
    [InlineData("GET", "/admin/credentials/cred_missing", null, HttpStatusCode.NotFound, "not_found_error")]
    [InlineData("POST", "/v1/messages", "{\"model\":", HttpStatusCode.Forbidden, "permission_error")] // the Gateway (an admin key)
    public async Task Every_service_answers_with_one_request_id_in_header_and_body(
        string method, string path, string? body, HttpStatusCode status, string type)
    {
        using var http = new HttpClient { BaseAddress = app.Gateway(0) };
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", app.App.GetParameter("admin-key"));
        request.Headers.TryAddWithoutValidation("x-request-id", "caller-correlation-1");
        request.Headers.TryAddWithoutValidation("request-id", "req_0000000000000000000000"); // not adopted either
        using var response = await http.SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode} {text}");
        var id = Assert.Single(response.Headers.GetValues("request-id"));
        Assert.True(RequestIds.IsWellFormed(id), id);
        Assert.NotEqual("req_0000000000000000000000", id);
        Assert.False(response.Headers.Contains("Server"), "a Server header was sent");

        using var error = JsonDocument.Parse(text);
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Equal(type, error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.RootElement.GetProperty("error").GetProperty("message").GetString()));
        Assert.Equal(id, error.RootElement.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task Successive_requests_get_different_ids()
    {
        using var http = new HttpClient { BaseAddress = app.Gateway(1) };
        using var first = await http.GetAsync("/v1/messages");
        using var second = await http.GetAsync("/v1/messages");
        Assert.NotEqual(first.Headers.GetValues("request-id").Single(), second.Headers.GetValues("request-id").Single());
    }
}
