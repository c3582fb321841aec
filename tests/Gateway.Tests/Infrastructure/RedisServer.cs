using System.Net;
using System.Net.Sockets;
using LlmGateway.Testing;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Infrastructure;

/// <summary>
/// A real Redis for in-process gateway tests, started by the AppHost's own resource code (password, append-only
/// file), so that <see cref="StopAsync"/> / <see cref="StartAsync"/> simulate an outage on the same port and keep
/// the data.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly TestApp _app;

    private RedisServer(TestApp app, string connectionString)
    {
        _app = app;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public static async Task<RedisServer> StartNewAsync()
    {
        var app = await TestAppBuilder.Create().WithResources("redis").StartAsync();
        return new RedisServer(app, (await app.GetConnectionStringAsync("redis"))!);
    }

    public Task StartAsync() => _app.StartResourceAsync("redis");

    public Task StopAsync() => _app.StopResourceAsync("redis");

    public ConnectionMultiplexer Connect()
    {
        var options = ConfigurationOptions.Parse(ConnectionString);
        options.AbortOnConnectFail = false;
        return ConnectionMultiplexer.Connect(options);
    }

    /// <summary>A connection allowed to run admin commands (CONFIG, CLIENT PAUSE, FLUSHALL …).</summary>
    public async Task<ConnectionMultiplexer> ConnectAdminAsync()
    {
        var options = ConfigurationOptions.Parse(ConnectionString);
        options.AllowAdmin = true;
        options.AbortOnConnectFail = false;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
