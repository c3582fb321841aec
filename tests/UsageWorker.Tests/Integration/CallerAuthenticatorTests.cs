using System.Net;
using System.Text;
using System.Text.Json;
using LlmGateway.Contracts.Credentials;
using LlmGateway.UsageWorker.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Tests.Integration;

/// <summary>The fallback to TokenService's introspection, with a stand-in TokenService and the real Redis.</summary>
[Collection(UsageAppCollection.Name)]
public sealed class CallerAuthenticatorTests(UsageAppFixture fixture)
{
    [Fact]
    public async Task A_credential_Redis_does_not_know_is_introspected_and_scoped_by_its_kind()
    {
        var token = CredentialFormat.Generate(CredentialKind.DeviceToken);
        var tokenService = new StubTokenService(HttpStatusCode.OK, """
            {"id":"cred_dev","kind":"device_token","hint":"lgw_dev_…abcd","owner":{"type":"device","id":"own"},"device_id":"dev-42"}
            """);
        var result = await Authenticator(fixture.Redis, tokenService).AuthenticateAsync(Request(token), default);

        Assert.Equal("dev-42", result.Scope?.DeviceId);
        Assert.False(result.Scope!.IsAdmin);
        Assert.Equal("/internal/introspect", tokenService.Path);
        Assert.Equal(CredentialFormat.Hash(token), JsonDocument.Parse(tokenService.Body!).RootElement.GetProperty("hash").GetString());
    }

    [Fact]
    public async Task Introspection_404_is_an_invalid_credential_and_a_failure_is_a_503()
    {
        var token = CredentialFormat.Generate(CredentialKind.ApiKey);
        var notFound = await Authenticator(fixture.Redis, new StubTokenService(HttpStatusCode.NotFound, """{"type":"error"}""")).AuthenticateAsync(Request(token), default);
        Assert.Equal((401, "authentication_error"), (notFound.Status, notFound.ErrorType));

        var failing = await Authenticator(fixture.Redis, new StubTokenService(HttpStatusCode.InternalServerError, "")).AuthenticateAsync(Request(token), default);
        Assert.Equal((503, "api_error"), (failing.Status, failing.ErrorType));
    }

    [Fact]
    public async Task With_Redis_down_credentials_are_still_verified_through_TokenService()
    {
        var options = ConfigurationOptions.Parse("127.0.0.1:1,connectTimeout=200");
        options.AbortOnConnectFail = false;
        using var deadRedis = await ConnectionMultiplexer.ConnectAsync(options);
        var tokenService = new StubTokenService(HttpStatusCode.OK, """
            {"id":"cred_adm","kind":"admin_key","hint":"lgw_adm_…abcd","owner":{"type":"user","id":"ops"}}
            """);

        var result = await Authenticator(deadRedis, tokenService).AuthenticateAsync(Request(CredentialFormat.Generate(CredentialKind.AdminKey)), default);
        Assert.True(result.Scope?.IsAdmin);
    }

    [Fact]
    public async Task The_bootstrap_key_is_admin_without_any_lookup()
    {
        var tokenService = new StubTokenService(HttpStatusCode.InternalServerError, "");
        var result = await Authenticator(fixture.Redis, tokenService).AuthenticateAsync(Request(UsageAppFixture.AdminKey), default);
        Assert.True(result.Scope?.IsAdmin);
        Assert.Null(tokenService.Path);
    }

    private static CallerAuthenticator Authenticator(IConnectionMultiplexer redis, StubTokenService tokenService) => new(
        redis,
        new HttpClient(tokenService) { BaseAddress = new Uri("http://tokenservice") },
        Options.Create(new AdminOptions { BootstrapKey = UsageAppFixture.AdminKey }),
        TimeProvider.System,
        NullLogger<CallerAuthenticator>.Instance,
        NullLoggerFactory.Instance);

    private static HttpRequest Request(string credential)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["x-api-key"] = credential;
        return context.Request;
    }

    private sealed class StubTokenService(HttpStatusCode status, string body) : HttpMessageHandler
    {
        public string? Path { get; private set; }
        public string? Body { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Path = request.RequestUri!.AbsolutePath;
            Body = await request.Content!.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }
    }
}
