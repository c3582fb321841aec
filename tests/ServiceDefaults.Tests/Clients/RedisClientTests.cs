using System.Net;
using System.Text.Json;
using LlmGateway.Testing;
using LlmGateway.ServiceDefaults.Tests.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace LlmGateway.ServiceDefaults.Tests.Clients;

/// <summary>Redis as the AppHost runs it (its own resource code), shared by the tests that only need it up.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private TestApp? _app;

    public string ConnectionString { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _app = await StartRedisAsync();
        ConnectionString = await _app.GetConnectionStringAsync("redis")
            ?? throw new InvalidOperationException("The AppHost gave Redis no connection string.");
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    internal static Task<TestApp> StartRedisAsync() =>
        TestAppBuilder.Create().WithResources("redis").StartAsync();
}

/// <summary>Aspire's Redis client as every service registers it.</summary>
public sealed class RedisClientTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    /// <summary>The name Aspire.StackExchange.Redis gives its check.</summary>
    private const string CheckName = "StackExchange.Redis";

    [Fact]
    public async Task The_multiplexer_talks_to_Redis_and_the_readiness_check_pings_it()
    {
        await using var service = await StartAsync(redis.ConnectionString);
        var database = service.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();

        await database.StringSetAsync("servicedefaults:test", "value");
        var health = await JsonHealth.ReadAsync(service);

        Assert.Equal("value", (string?)await database.StringGetAsync("servicedefaults:test"));
        Assert.Equal(HttpStatusCode.OK, health.Status);
        Assert.Equal("Healthy", health.Checks[CheckName].Status);
        Assert.Same(service.Services.GetRequiredService<IConnectionMultiplexer>(), service.Services.GetRequiredService<IConnectionMultiplexer>());
    }

    [Fact]
    public async Task A_service_starts_while_Redis_is_down_reports_not_ready_and_recovers_when_Redis_comes_up()
    {
        // Redis's own instance from the AppHost, stopped before the service starts; it comes back on the same
        // port with the same password.
        await using var app = await RedisServerFixture.StartRedisAsync();
        var connectionString = await app.GetConnectionStringAsync("redis");
        Assert.NotNull(connectionString);
        await app.StopResourceAsync("redis");
        await using var service = await StartAsync(connectionString + ",connectTimeout=1000");

        var down = await JsonHealth.ReadAsync(service);
        using var alive = await service.Client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Equal("Unhealthy", down.Checks[CheckName].Status);
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);

        var multiplexer = service.Services.GetRequiredService<IConnectionMultiplexer>();
        var restored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        multiplexer.ConnectionRestored += (_, e) =>
        {
            // Commands go over the interactive connection; the subscription one reconnects separately.
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                restored.TrySetResult();
            }
        };
        await app.StartResourceAsync("redis");
        if (!multiplexer.GetDatabase().IsConnected(default))
        {
            await restored.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        // The client re-selects the server a moment after the connection is back, with no event to wait for; so ask
        // until the check passes, within a bound.
        var up = await JsonHealth.ReadAsync(service);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (up.Status != HttpStatusCode.OK && !deadline.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
            up = await JsonHealth.ReadAsync(service);
        }

        Assert.True(up.Status == HttpStatusCode.OK, string.Join("; ", up.Checks.Select(c => $"{c.Key}={c.Value.Status}: {c.Value.Description}")));
        Assert.Equal("Healthy", up.Checks[CheckName].Status);
    }

    [Fact]
    public async Task A_missing_connection_string_fails_the_client_and_names_the_key()
    {
        // The client is made when first asked for (a service's start-up work asks at once, so it does not start).
        await using var service = await StartAsync(connectionString: null);
        var exception = Assert.Throws<InvalidOperationException>(() => service.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>());

        Assert.Contains("ConnectionStrings:redis", exception.Message);
    }

    [Fact]
    public async Task An_unparsable_connection_string_fails_the_client_and_says_what_is_wrong()
    {
        await using var service = await StartAsync("127.0.0.1:6379,nonsense=1");
        var exception = Assert.ThrowsAny<Exception>(() => service.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>());

        Assert.Contains("nonsense", exception.Message);
    }

    [Fact]
    public async Task The_connection_string_can_come_from_Aspires_settings_section_and_checks_can_be_turned_off()
    {
        await using var service = await StartAsync(null, new Dictionary<string, string?>
        {
            ["Aspire:StackExchange:Redis:ConnectionString"] = redis.ConnectionString,
            ["Aspire:StackExchange:Redis:DisableHealthChecks"] = "true",
        });

        var health = await JsonHealth.ReadAsync(service);

        Assert.True(service.Services.GetRequiredService<IConnectionMultiplexer>().IsConnected);
        Assert.DoesNotContain(CheckName, health.Checks.Keys);
    }

    private static Task<TestService> StartAsync(string? connectionString, Dictionary<string, string?>? configuration = null)
    {
        configuration ??= [];
        if (connectionString is not null)
        {
            configuration["ConnectionStrings:redis"] = connectionString;
        }

        return TestService.StartAsync(
            builder => builder.AddRedisClient("redis"),
            healthResponseWriter: JsonHealth.Writer,
            configuration: configuration);
    }
}
