using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using LlmGateway.Contracts;
using Anthropic;
using LlmGateway.Testing;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Tests.Infrastructure;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Integration;

[CollectionDefinition(Name)]
public sealed class AppCollection : ICollectionFixture<AppFixture>
{
    public const string Name = "whole app";
}

/// <summary>
/// The application as the AppHost runs it (demo mode: the simulator is the upstream), started once for the
/// integration tests. The UsageWorker is stopped so the usage stream is observed exactly as the gateway wrote it.
/// </summary>
public sealed class AppFixture : IAsyncLifetime
{
    private readonly string _spool = Directory.CreateTempSubdirectory("gw-app-spool-").FullName;

    public TestApp App { get; private set; } = null!;

    public Uri Gateway { get; private set; } = null!;

    /// <summary>The simulator's own address, for its <c>/sim</c> control plane.</summary>
    public HttpClient Simulator { get; private set; } = null!;

    /// <summary>The OpenAI-compatible simulator (demo mode's second provider, serving <c>gpt-*</c>).</summary>
    public HttpClient OpenAiSimulator { get; private set; } = null!;

    public ConnectionMultiplexer Redis { get; private set; } = null!;

    /// <summary>Every status the gateway answered in these tests; none may be a 500.</summary>
    public ConcurrentQueue<HttpStatusCode> Statuses { get; } = new();

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        App = await TestAppBuilder.Create()
            .WithResources("gateway")
            .WithEnvironment("gateway", "Gateway__Usage__SpoolDirectory", _spool)
            .WithEnvironment("gateway", "Gateway__Usage__ReplayInterval", "00:00:00.200")
            .WithEnvironment("gateway", "Upstream__RetryBaseDelay", "00:00:00.050")
            .StartAsync(timeout.Token);
        // The usage stream is read by the tests themselves.
        await App.StopResourceAsync("usageworker");
        Gateway = App.GetEndpoint("gateway");
        Simulator = App.CreateHttpClient("upstream");
        OpenAiSimulator = App.CreateHttpClient("upstream-openai");
        Redis = ConnectionMultiplexer.Connect((await App.GetConnectionStringAsync("redis"))! + ",abortConnect=false");
    }

    public async Task DisposeAsync()
    {
        Redis?.Dispose();
        Simulator?.Dispose();
        OpenAiSimulator?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        Directory.Delete(_spool, recursive: true);
    }

    /// <summary>
    /// Creates an API key the way an operator does: TokenService's admin API, called on the gateway's public address
    /// with the bootstrap admin key. Returns the secret and the projection TokenService wrote to Redis.
    /// </summary>
    public async Task<(string Secret, CredentialProjection Projection)> CreateCredentialAsync(
        IReadOnlyList<string>? models = null, string kind = "api_key", string? agentName = null, string? ttl = null)
    {
        using var http = Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/credentials")
        {
            Content = JsonContent.Create(new Dictionary<string, object?>
            {
                ["kind"] = kind,
                ["name"] = "gateway test",
                ["owner"] = new Dictionary<string, string> { ["type"] = "organization", ["id"] = "org_gw_tests" },
                ["models"] = models ?? ["*"],
                ["agent_name"] = agentName,
                ["ttl"] = ttl,
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", App.GetParameter("admin-key"));
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var created = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var secret = created.RootElement.GetProperty("secret").GetString()!;

        // Right after a Redis restart TokenService may still be reconnecting; it re-projects on its own shortly.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                var projection = await Redis.GetDatabase().StringGetAsync(RedisKeys.Credential(CredentialFormat.Hash(secret)));
                if (!projection.IsNull)
                {
                    return (secret, JsonSerializer.Deserialize<CredentialProjection>((string)projection!)!);
                }
            }
            catch (RedisConnectionException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, "TokenService did not project the new credential");
            await Task.Delay(50);
        }
    }

    /// <summary>The request id of the newest usage event of <paramref name="credentialId"/> (waits up to 30 s for one).</summary>
    public async Task<string> LatestRequestIdAsync(string credentialId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var entry = (await UsageStream.ReadAllAsync(Redis)).LastOrDefault(e => e.GetValueOrDefault("credential_id") == credentialId);
            if (entry is not null)
            {
                return entry["request_id"];
            }

            Assert.True(DateTime.UtcNow < deadline);
            await Task.Delay(20);
        }
    }

    /// <summary>An admin call through the gateway's public address.</summary>
    public async Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path)
    {
        using var http = Http();
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", App.GetParameter("admin-key"));
        return await http.SendAsync(request);
    }

    /// <summary>The official SDK pointed at the gateway: only the base URL and the key differ from production use.</summary>
    public AnthropicClient Sdk(string secret, IReadOnlyDictionary<string, string>? headers = null, int maxRetries = 0) => new()
    {
        ApiKey = secret,
        BaseUrl = Gateway.ToString().TrimEnd('/'),
        MaxRetries = maxRetries,
        Handlers = [new ExtraHeaders(headers ?? new Dictionary<string, string>(), Statuses)],
    };

    /// <summary>A plain client for byte-exact checks.</summary>
    public HttpClient Http() => new(new ExtraHeaders(new Dictionary<string, string>(), Statuses) { InnerHandler = new SocketsHttpHandler() })
    {
        BaseAddress = Gateway,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>Adds the simulator's control headers (the SDK has no public per-request headers) and records statuses.</summary>
    private sealed class ExtraHeaders(IReadOnlyDictionary<string, string> headers, ConcurrentQueue<HttpStatusCode> statuses) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            var response = await base.SendAsync(request, cancellationToken);
            statuses.Enqueue(response.StatusCode);
            Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
            return response;
        }
    }
}
