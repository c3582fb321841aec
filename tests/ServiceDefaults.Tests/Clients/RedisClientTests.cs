using System.Net;
using System.Text.Json;
using LlmGateway.AppHost.Testing;
using LlmGateway.ServiceDefaults.HealthChecks;
using LlmGateway.ServiceDefaults.Tests.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.ServiceDefaults.Tests.Clients;

/// <summary>Redis as the AppHost runs it (its own resource code), shared by the tests that only need it up.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private DistributedApplication? _app;

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

    internal static Task<DistributedApplication> StartRedisAsync() =>
        DistributedApplicationTestingBuilder.Create().WithResources("redis").StartAsync();
}

public sealed class RedisClientTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task The_multiplexer_talks_to_Redis_and_the_readiness_check_pings_it()
    {
        await using var service = await StartAsync(redis.ConnectionString);
        var database = service.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();

        await database.StringSetAsync("servicedefaults:test", "value");
        var health = await ReadHealthAsync(service);

        Assert.Equal("value", (string?)await database.StringGetAsync("servicedefaults:test"));
        Assert.Equal(HttpStatusCode.OK, health.Status);
        Assert.Equal("Healthy", health.Checks["redis_check"].Status);
        Assert.Equal(["ready"], health.Checks["redis_check"].Tags);
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

        var down = await ReadHealthAsync(service);
        using var alive = await service.Client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Equal("Unhealthy", down.Checks["redis_check"].Status);
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

        // StackExchange.Redis 1.x re-selects the server a moment after the connection is back, with no event
        // to wait for; so ask until the check passes, within a bound.
        var up = await ReadHealthAsync(service);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (up.Status != HttpStatusCode.OK && !deadline.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
            up = await ReadHealthAsync(service);
        }

        Assert.True(up.Status == HttpStatusCode.OK, string.Join("; ", up.Checks.Select(c => $"{c.Key}={c.Value.Status}: {c.Value.Description}")));
        Assert.Equal("Healthy", up.Checks["redis_check"].Status);
    }

    [Fact]
    public async Task A_missing_connection_string_stops_the_start_and_names_the_key()
    {
        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(connectionString: null));

        Assert.Contains("'ConnectionStrings:redis'", exception.Message);
        Assert.Contains("ConnectionStrings__redis", exception.Message);
    }

    [Fact]
    public async Task An_unparsable_connection_string_stops_the_start_and_names_the_key()
    {
        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync("127.0.0.1:6379,nonsense=1"));

        Assert.Contains("'ConnectionStrings:redis' is not valid", exception.Message);
    }

    [Fact]
    public async Task The_connection_string_can_come_from_Aspires_settings_section_and_checks_can_be_turned_off()
    {
        await using var service = await StartAsync(null, new Dictionary<string, string?>
        {
            ["Aspire:StackExchange:Redis:ConnectionString"] = redis.ConnectionString,
            ["Aspire:StackExchange:Redis:DisableHealthChecks"] = "true",
        });

        var health = await ReadHealthAsync(service);

        Assert.True(service.Services.GetRequiredService<IConnectionMultiplexer>().IsConnected);
        Assert.DoesNotContain("redis_check", health.Checks.Keys);
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
            healthResponseWriter: HealthReportJsonWriter.Create(),
            configuration: configuration);
    }

    internal static async Task<(HttpStatusCode Status, Dictionary<string, (string Status, string[] Tags, string? Description)> Checks)> ReadHealthAsync(TestService service)
    {
        using var response = await service.Client.GetAsync("/health");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var checks = json.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(
            c => c.GetProperty("name").GetString()!,
            c => (c.GetProperty("status").GetString()!, c.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToArray(), c.GetProperty("description").GetString()));
        return (response.StatusCode, checks);
    }
}
