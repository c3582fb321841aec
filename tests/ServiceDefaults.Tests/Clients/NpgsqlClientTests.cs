using System.Data.Common;
using System.Net;
using System.Net.Sockets;
using LlmGateway.Testing;
using LlmGateway.ServiceDefaults.Tests.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace LlmGateway.ServiceDefaults.Tests.Clients;

/// <summary>The <c>llmgateway</c> database on PostgreSQL as the AppHost runs it (its own resource code).</summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private TestApp? _app;

    public string ConnectionString { get; private set; } = null!;

    /// <summary>The running AppHost resources (stop and start <c>postgres</c> to simulate an outage).</summary>
    public TestApp App => _app ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        _app = await TestAppBuilder.Create().WithResources("llmgateway").StartAsync();
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

/// <summary>Aspire's PostgreSQL client as every service registers it.</summary>
public sealed class NpgsqlClientTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    /// <summary>The name Aspire.Npgsql gives its check.</summary>
    private const string CheckName = "PostgreSql";

    [Fact]
    public async Task The_data_source_queries_PostgreSQL_and_the_readiness_check_runs_SELECT_1()
    {
        await using var service = await StartAsync(postgres.ConnectionString);
        var dataSource = service.Services.GetRequiredService<NpgsqlDataSource>();

        await using var command = dataSource.CreateCommand("SELECT current_database()");
        var database = (string?)await command.ExecuteScalarAsync();
        var health = await JsonHealth.ReadAsync(service);

        Assert.Equal("llmgateway", database);
        Assert.Same(dataSource, service.Services.GetRequiredService<DbDataSource>());
        Assert.Equal(HttpStatusCode.OK, health.Status);
        Assert.Equal("Healthy", health.Checks[CheckName].Status);
    }

    [Fact]
    public async Task A_service_starts_while_PostgreSQL_is_down_and_reports_not_ready()
    {
        await using var service = await StartAsync($"Host=127.0.0.1;Port={FreePort.Next()};Username=postgres;Password=x;Database=llmgateway");

        var health = await JsonHealth.ReadAsync(service);
        using var alive = await service.Client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.Status);
        Assert.Equal("Unhealthy", health.Checks[CheckName].Status);
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task A_server_that_never_answers_fails_the_check_after_the_connection_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var service = await StartAsync($"Host=127.0.0.1;Port={port};Username=postgres;Password=x;Database=llmgateway;Timeout=1");

        var health = await JsonHealth.ReadAsync(service);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.Status);
        Assert.Equal("Unhealthy", health.Checks[CheckName].Status);
    }

    [Fact]
    public async Task A_missing_connection_string_fails_the_client_and_names_the_key()
    {
        // The client is made when first asked for (a service's start-up work asks at once, so it does not start).
        await using var service = await StartAsync(connectionString: null);
        var exception = Assert.Throws<InvalidOperationException>(() => service.Services.GetRequiredService<Npgsql.NpgsqlDataSource>());

        Assert.Contains("ConnectionStrings:llmgateway", exception.Message);
    }

    [Fact]
    public async Task An_unparsable_connection_string_fails_the_client_and_says_what_is_wrong()
    {
        await using var service = await StartAsync("Host=127.0.0.1;Nonsense=1");
        var exception = Assert.ThrowsAny<Exception>(() => service.Services.GetRequiredService<Npgsql.NpgsqlDataSource>());

        Assert.Contains("nonsense", exception.Message, StringComparison.OrdinalIgnoreCase);
    }

    private static Task<TestService> StartAsync(string? connectionString, Action<Aspire.Npgsql.NpgsqlSettings>? configure = null)
    {
        var configuration = new Dictionary<string, string?>();
        if (connectionString is not null)
        {
            configuration["ConnectionStrings:llmgateway"] = connectionString;
        }

        return TestService.StartAsync(
            builder => builder.AddNpgsqlDataSource("llmgateway", configure),
            healthResponseWriter: JsonHealth.Writer,
            configuration: configuration);
    }
}
