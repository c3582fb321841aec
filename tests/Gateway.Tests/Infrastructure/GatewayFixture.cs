using System.Net.Http.Headers;
using System.Text;
using LlmGateway.Contracts.Credentials;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Infrastructure;

/// <summary>A real Redis, a scriptable upstream and the real gateway in-process, shared by the tests of a class.</summary>
public class GatewayFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;
    public ConnectionMultiplexer RedisClient { get; private set; } = null!;
    public FakeUpstream Upstream { get; private set; } = null!;
    public InProcessGateway Gateway { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    /// <summary>Runs before the gateway starts (e.g. to start more fakes that <see cref="Settings"/> points at).</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartNewAsync();
        RedisClient = Redis.Connect();
        Upstream = await FakeUpstream.StartAsync();
        await PrepareAsync();
        Gateway = await InProcessGateway.StartAsync(Redis, Upstream.BaseAddress, Settings);
        // Subscribing clears the credential cache; tests that cache a credential before a Redis outage need it done.
        await Gateway.WaitForCredentialSubscriptionAsync();
        Client = Gateway.CreateClient();
    }

    public virtual async Task DisposeAsync()
    {
        Client.Dispose();
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        RedisClient.Dispose();
        await Redis.DisposeAsync();
    }

    public Task<(string Secret, CredentialProjection Projection)> CreateCredentialAsync(
        IReadOnlyList<string>? models = null, CredentialKind kind = CredentialKind.ApiKey, DateTimeOffset? expiresAt = null,
        IReadOnlyList<string>? routes = null) =>
        TestCredentials.CreateAsync(RedisClient, models, kind, expiresAt, routes);

    public static HttpRequestMessage Messages(string secret, string body, string path = "/v1/messages")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("x-api-key", secret);
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        return request;
    }
}
