using System.Data.Common;
using System.Net;
using System.Net.Sockets;
using LlmGateway.AppHost.Testing;
using LlmGateway.ServiceDefaults.HealthChecks;
using LlmGateway.ServiceDefaults.Tests.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace LlmGateway.ServiceDefaults.Tests.Clients;

/// <summary>The <c>llmgateway</c> database on PostgreSQL as the AppHost runs it (its own resource code).</summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private DistributedApplication? _app;

    public string ConnectionString { get; private set; } = null!;

    /// <summary>The running AppHost resources (stop and start <c>postgres</c> to simulate an outage).</summary>
    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        _app = await DistributedApplicationTestingBuilder.Create().WithResources("llmgateway").StartAsync();
        ConnectionString = await _app.GetConnectionStringAsync("llmgateway")
            ?? throw new InvalidOperationException("The AppHost gave the llmgateway database no connection string.");
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

public sealed class NpgsqlClientTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    [Fact]
    public async Task The_data_source_queries_PostgreSQL_and_the_readiness_check_runs_SELECT_1()
    {
        await using var service = await StartAsync(postgres.ConnectionString);
        var dataSource = service.Services.GetRequiredService<NpgsqlDataSource>();

        await using var command = dataSource.CreateCommand("SELECT current_database()");
        var database = (string?)await command.ExecuteScalarAsync();
        var health = await RedisClientTests.ReadHealthAsync(service);

        Assert.Equal("llmgateway", database);
        Assert.Same(dataSource, service.Services.GetRequiredService<DbDataSource>());
        Assert.Equal(HttpStatusCode.OK, health.Status);
        Assert.Equal("Healthy", health.Checks["llmgateway_check"].Status);
        Assert.Equal(["ready"], health.Checks["llmgateway_check"].Tags);
    }

    [Fact]
    public async Task A_service_starts_while_PostgreSQL_is_down_and_reports_not_ready()
    {
        await using var service = await StartAsync($"Host=127.0.0.1;Port={FreePort.Next()};Username=postgres;Password=x;Database=llmgateway");

        var health = await RedisClientTests.ReadHealthAsync(service);
        using var alive = await service.Client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.Status);
        Assert.Equal("Unhealthy", health.Checks["llmgateway_check"].Status);
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task A_server_that_never_answers_fails_the_check_after_its_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var service = await StartAsync(
            $"Host=127.0.0.1;Port={port};Username=postgres;Password=x;Database=llmgateway;Timeout=60",
            settings => settings.HealthCheckTimeout = TimeSpan.FromMilliseconds(300));

        var health = await RedisClientTests.ReadHealthAsync(service);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.Status);
        Assert.Equal("Unhealthy", health.Checks["llmgateway_check"].Status);
    }

    [Fact]
    public async Task A_missing_connection_string_stops_the_start_and_names_the_key()
    {
        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(connectionString: null));

        Assert.Contains("'ConnectionStrings:llmgateway'", exception.Message);
        Assert.Contains("ConnectionStrings__llmgateway", exception.Message);
    }

    [Fact]
    public async Task An_unparsable_connection_string_stops_the_start_and_names_the_key()
    {
        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync("Host=127.0.0.1;Nonsense=1"));

        Assert.Contains("'ConnectionStrings:llmgateway' is not valid", exception.Message);
    }

    private static Task<TestService> StartAsync(string? connectionString, Action<LlmGateway.ServiceDefaults.Clients.NpgsqlClientSettings>? configure = null)
    {
        var configuration = new Dictionary<string, string?>();
        if (connectionString is not null)
        {
            configuration["ConnectionStrings:llmgateway"] = connectionString;
        }

        return TestService.StartAsync(
            builder => builder.AddNpgsqlDataSource("llmgateway", configure),
            healthResponseWriter: HealthReportJsonWriter.Create(),
            configuration: configuration);
    }
}
