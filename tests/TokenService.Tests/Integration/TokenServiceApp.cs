using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlmGateway.Testing;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using StackExchange.Redis;

namespace LlmGateway.TokenService.Tests.Integration;

[CollectionDefinition(Name)]
public sealed class TokenServiceCollection : ICollectionFixture<TokenServiceApp>
{
    public const string Name = "TokenService with real Redis and PostgreSQL";
}

/// <summary>
/// TokenService, Redis and PostgreSQL started once through the AppHost testing entry point, shared by every
/// integration test class (the collection runs its tests one after another, so a test may stop PostgreSQL or flush
/// Redis as long as it puts things back).
/// </summary>
public sealed class TokenServiceApp : IAsyncLifetime
{
    public const string ExternalPrefix = "sk_live_";
    public const int BootstrapPerMinute = 3;
    public const int MaxFailedSignIns = 3;

    private ConnectionMultiplexer? redis;
    private TestApp? app;

    /// <summary>The operator's bootstrap admin key (AppHost parameter admin-key).</summary>
    public string AdminKey { get; } = CredentialFormat.Generate(CredentialKind.AdminKey);

    public TestApp App => app ?? throw new InvalidOperationException("Not started.");

    /// <summary>An OIDC issuer served by the test process, configured (through the AppHost's Identity section) as <c>test</c>.</summary>
    public TestJwtIssuer Issuer { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public ConnectionMultiplexer Redis => redis ?? throw new InvalidOperationException("Not started.");
    public string PostgresConnectionString { get; private set; } = "";

    /// <summary>Every secret a test saw; the secret-hygiene test looks for each of them in PostgreSQL, Redis and logs.</summary>
    public ConcurrentBag<string> Secrets { get; } = [];

    public async Task InitializeAsync()
    {
        Issuer = await TestJwtIssuer.StartAsync();
        app = await TestAppBuilder.Create()
            .WithParameter("admin-key", AdminKey)
            .WithConfiguration("Identity:Issuers:test:MetadataAddress", Issuer.MetadataAddress)
            .WithConfiguration("Identity:Issuers:test:Issuer", Issuer.Issuer)
            .WithConfiguration("Identity:Issuers:test:Audience", "llm-gateway")
            .WithConfiguration("Identity:Issuers:test:RequireHttpsMetadata", "false")
            .WithResources("tokenservice")
            .WithEnvironment("tokenservice", "Bootstrap__Enabled", "true")
            .WithEnvironment("tokenservice", "Bootstrap__RequestsPerMinutePerAddress", BootstrapPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("tokenservice", "Projection__CheckInterval", "200ms")
            .WithEnvironment("tokenservice", "ExternalKeys__Patterns__0__Prefix", ExternalPrefix)
            .WithEnvironment("tokenservice", "Accounts__Registration", "open")
            .WithEnvironment("tokenservice", "Accounts__SignInsPerMinutePerAddress", "1000")
            .WithEnvironment("tokenservice", "Accounts__MaxFailedSignIns", MaxFailedSignIns.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .StartAsync();
        Http = app.CreateHttpClient("tokenservice");
        var redisOptions = ConfigurationOptions.Parse((await app.GetConnectionStringAsync("redis"))!);
        redisOptions.AllowAdmin = true;
        redisOptions.AbortOnConnectFail = false;
        redis = await ConnectionMultiplexer.ConnectAsync(redisOptions);
        PostgresConnectionString = (await app.GetConnectionStringAsync("llmgateway"))!;
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        redis?.Dispose();
        if (app is not null)
        {
            await app.DisposeAsync();
        }

        if (Issuer is not null)
        {
            await Issuer.DisposeAsync();
        }
    }

    public Task<ApiResponse> AdminAsync(HttpMethod method, string path, string? json = null, string? clientAddress = null) =>
        SendAsync(method, path, json, AdminKey, clientAddress);

    /// <summary>Sends a request to TokenService (or, with <paramref name="via"/>, to another instance of it).</summary>
    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, string? json = null, string? credential = null, string? clientAddress = null, bool bearer = false, HttpClient? via = null, string? internalKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (internalKey is not null)
        {
            request.Headers.Add(InternalApi.HeaderName, internalKey);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (credential is not null)
        {
            if (bearer)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
            }
            else
            {
                request.Headers.Add("x-api-key", credential);
            }
        }

        if (clientAddress is not null)
        {
            request.Headers.Add("X-Forwarded-For", clientAddress);
        }

        using var response = await (via ?? Http).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return new ApiResponse(response.StatusCode, body, text, response.Headers);
    }

    /// <summary>Creates a credential through the admin API; returns its id and secret.</summary>
    public async Task<(string Id, string Secret)> CreateAsync(string json)
    {
        var response = await AdminAsync(HttpMethod.Post, "/admin/credentials", json);
        response.AssertStatus(HttpStatusCode.Created);
        var secret = response.Body.GetProperty("secret").GetString()!;
        Secrets.Add(secret);
        return (response.Body.GetProperty("id").GetString()!, secret);
    }

    public Task<(string Id, string Secret)> CreateApiKeyAsync(string models = """["*"]""", string limits = "{}") =>
        CreateAsync($$"""{"name":"test key","owner":{"type":"organization","id":"acme","name":"Acme"},"models":{{models}},"limits":{{limits}}}""");

    /// <summary>POST /v1/tokens with the parent credential; the secret (if any) is remembered for the hygiene scan.</summary>
    public async Task<ApiResponse> MintAsync(string parentSecret, string json)
    {
        var response = await SendAsync(HttpMethod.Post, "/v1/tokens", json, parentSecret, bearer: true);
        if (response.Status == HttpStatusCode.OK)
        {
            Secrets.Add(response.Body.GetProperty("token").GetString()!);
        }

        return response;
    }

    /// <summary>The key the services present to <c>/internal/*</c> (the AppHost's generated <c>internal-api-key</c>).</summary>
    public string InternalKey => app!.GetParameter("internal-api-key");

    public Task<ApiResponse> IntrospectAsync(string secret) =>
        SendAsync(HttpMethod.Post, "/internal/introspect", $$"""{"hash":"{{CredentialFormat.Hash(secret)}}"}""", internalKey: InternalKey);

    public async Task<CredentialProjection?> ProjectionAsync(string secret)
    {
        var value = await Redis.GetDatabase().StringGetAsync(RedisKeys.Credential(CredentialFormat.Hash(secret)));
        return value.IsNull ? null : JsonSerializer.Deserialize<CredentialProjection>((string)value!);
    }

    /// <summary>After Redis was restarted: waits until this test process's own connection answers again.</summary>
    public async Task WaitForRedisAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await Redis.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// After PostgreSQL was restarted: waits until TokenService's reads succeed again. Npgsql hands out pooled
    /// connections without checking them, so each one opened before the restart fails one request (a 503); the idle
    /// connections are handed out oldest first, so a few successes in a row mean all of them were replaced.
    /// </summary>
    public async Task WaitForDatabaseAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        for (var inARow = 0; inARow < 5;)
        {
            var response = await AdminAsync(HttpMethod.Get, "/admin/credentials?limit=1");
            if (response.Status == System.Net.HttpStatusCode.OK)
            {
                inARow++;
                continue;
            }

            Assert.True(DateTime.UtcNow < deadline, $"still failing after PostgreSQL came back: {response.Text}");
            inARow = 0;
            await Task.Delay(100);
        }
    }

    /// <summary>Subscribes to the credential events channel; dispose to unsubscribe.</summary>
    public async Task<CredentialEvents> SubscribeAsync()
    {
        var events = new CredentialEvents(Redis.GetSubscriber());
        await events.StartAsync();
        return events;
    }
}

public sealed record ApiResponse(HttpStatusCode Status, JsonElement Body, string Text, HttpResponseHeaders Headers)
{
    public void AssertStatus(HttpStatusCode expected) =>
        Assert.True(Status == expected, $"expected {(int)expected} {expected}, got {(int)Status}: {Text}");

    /// <summary>Asserts the error shape <c>{"type":"error","error":{"type","message"},"request_id"}</c>; returns the message.</summary>
    public string AssertError(HttpStatusCode status, string type)
    {
        AssertStatus(status);
        Assert.Equal("error", Body.GetProperty("type").GetString());
        Assert.Equal(type, Body.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(Body.GetProperty("request_id").GetString()));
        return Body.GetProperty("error").GetProperty("message").GetString()!;
    }
}

/// <summary>Messages on <see cref="RedisKeys.CredentialEvents"/>, as every Gateway instance receives them.</summary>
public sealed class CredentialEvents(ISubscriber subscriber) : IAsyncDisposable
{
    private readonly List<(string Message, long Timestamp)> received = [];
    private TaskCompletionSource arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task StartAsync() =>
        await subscriber.SubscribeAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), OnMessage);

    /// <summary>
    /// Waits until <paramref name="message"/> has been received since subscribing (in any order relative to other
    /// messages); returns the <see cref="System.Diagnostics.Stopwatch"/> timestamp at which it arrived.
    /// </summary>
    public async Task<long> WaitForAsync(string message, TimeSpan? timeout = null)
    {
        var deadline = Task.Delay(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            Task next;
            lock (received)
            {
                foreach (var (m, timestamp) in received)
                {
                    if (m == message)
                    {
                        return timestamp;
                    }
                }

                next = arrived.Task;
            }

            if (await Task.WhenAny(next, deadline) == deadline)
            {
                throw new TimeoutException($"No '{message}' on {RedisKeys.CredentialEvents}.");
            }
        }
    }

    public async ValueTask DisposeAsync() => await subscriber.UnsubscribeAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), OnMessage);

    private void OnMessage(RedisChannel channel, RedisValue value)
    {
        var timestamp = System.Diagnostics.Stopwatch.GetTimestamp();
        TaskCompletionSource signal;
        lock (received)
        {
            received.Add(((string)value!, timestamp));
            signal = arrived;
            arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
    }
}
