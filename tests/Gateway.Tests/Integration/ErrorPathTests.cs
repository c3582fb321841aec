using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Tests.Infrastructure;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>Each error path maps to the SDK exception a caller of the real API would get; nothing is a 500.</summary>
[Collection(AppCollection.Name)]
public sealed class ErrorPathTests(AppFixture app)
{
    private static MessageCreateParams Ask(string text = "hello", string model = "claude-sonnet-4-5") => new()
    {
        Model = model,
        MaxTokens = 64,
        Messages = [new UserMessageParam { Content = text }],
    };

    private static string NewTag() => "gw-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Wrong_or_missing_credentials_are_unauthorized()
    {
        await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => app.Sdk(CredentialFormat.Generate(CredentialKind.ApiKey)).Messages.Create(Ask()));
        await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => app.Sdk("sk-ant-not-a-gateway-key").Messages.Create(Ask()));
    }

    [Fact]
    public async Task A_model_outside_the_allowlist_is_forbidden()
    {
        var (secret, _) = await app.CreateCredentialAsync(models: ["claude-haiku-*"]);
        var error = await Assert.ThrowsAsync<AnthropicForbiddenException>(() => app.Sdk(secret).Messages.Create(Ask(model: "claude-opus-4-6")));
        Assert.Contains("permission_error", error.ResponseBody);
    }

    [Fact]
    public async Task A_body_over_two_mebibytes_is_too_large()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var error = await Assert.ThrowsAsync<AnthropicContentTooLargeException>(
            () => app.Sdk(secret).Messages.Create(Ask(new string('z', 2 * 1024 * 1024 + 10))));
        Assert.Contains("request_too_large", error.ResponseBody);
    }

    [Fact]
    public async Task Malformed_json_and_a_missing_model_are_bad_requests()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        await Assert.ThrowsAsync<AnthropicBadRequestException>(() => app.Sdk(secret).Messages.Create(Ask(model: "")));

        using var http = app.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent("{\"model\":", Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task An_overloaded_upstream_is_retried_before_the_first_byte_and_the_caller_never_sees_it()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var tag = NewTag();
        var client = app.Sdk(secret, new Dictionary<string, string>
        {
            ["x-sim-status"] = "529",
            ["x-sim-status-times"] = "1",
            ["x-sim-retry-after"] = "0",
            ["x-sim-request-tag"] = tag,
        });

        var message = await client.Messages.Create(Ask());

        Assert.NotEmpty(message.Content);
        using var record = JsonDocument.Parse(await app.Simulator.GetStringAsync($"/sim/requests/{tag}"));
        Assert.Equal(2, record.RootElement.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task A_rate_limit_with_a_long_retry_after_reaches_the_caller_unmodified()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var tag = NewTag();
        var client = app.Sdk(secret, new Dictionary<string, string>
        {
            ["x-sim-status"] = "429",
            ["x-sim-retry-after"] = "30",
            ["x-sim-request-tag"] = tag,
        });

        var error = await Assert.ThrowsAsync<AnthropicRateLimitException>(() => client.Messages.Create(Ask()));

        Assert.Equal(await app.Simulator.GetStringAsync($"/sim/requests/{tag}/body"), error.ResponseBody);
        using var record = JsonDocument.Parse(await app.Simulator.GetStringAsync($"/sim/requests/{tag}"));
        Assert.Equal(1, record.RootElement.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task Upstream_errors_map_to_the_same_sdk_exceptions_as_from_the_real_api()
    {
        var (secret, _) = await app.CreateCredentialAsync();
        var cases = new (string Status, System.Type Exception)[]
        {
            ("400", typeof(AnthropicBadRequestException)),
            ("404", typeof(AnthropicNotFoundException)),
            ("504", typeof(AnthropicGatewayTimeoutException)),
        };
        foreach (var (status, exception) in cases)
        {
            var client = app.Sdk(secret, new Dictionary<string, string> { ["x-sim-status"] = status });
            var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(Ask()));
            Assert.IsType(exception, error);
        }
    }
}
