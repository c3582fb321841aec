using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmGateway.Gateway.Tests.Infrastructure;

/// <summary>The real gateway application, hosted in the test process on a real socket.</summary>
public sealed class InProcessGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly bool _ownsSpool;

    private InProcessGateway(WebApplication app, Uri baseAddress, LogCapture logs, string spoolDirectory, bool ownsSpool)
    {
        _ownsSpool = ownsSpool;
        _app = app;
        BaseAddress = baseAddress;
        Logs = logs;
        SpoolDirectory = spoolDirectory;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public LogCapture Logs { get; }

    public string SpoolDirectory { get; }

    public static async Task<InProcessGateway> StartAsync(
        RedisServer redis, Uri upstream, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var ownsSpool = settings?.ContainsKey("Gateway:Usage:SpoolDirectory") != true;
        var spool = ownsSpool ? Directory.CreateTempSubdirectory("gw-spool-").FullName : settings!["Gateway:Usage:SpoolDirectory"]!;
        var configuration = new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis.ConnectionString,
            ["Upstream:BaseUrl"] = upstream.ToString(),
            ["Upstream:ApiKey"] = TestSecrets.UpstreamKey,
            ["Upstream:RetryBaseDelay"] = "00:00:00.010",
            ["Gateway:Usage:SpoolDirectory"] = spool,
            ["Gateway:Usage:ReplayInterval"] = "00:00:00.100",
            // No TokenService in these tests: introspection fails fast.
            ["Gateway:ControlPlane:TokenService"] = "http://127.0.0.1:9",
            ["Gateway:Credentials:IntrospectionTimeout"] = "00:00:00.500",
            // The production Redis timeouts are tuned for the hot path (limits: 250 ms, then the fallback policy;
            // credentials: 1 s, then TokenService, absent here). On a loaded test machine a healthy Redis can take
            // that long, and a spurious fallback would change the answer under test (a budget refused with 503).
            // Outages are detected by the lost connection, not by these timeouts.
            ["Limits:RedisTimeout"] = "00:00:05",
            ["Gateway:Credentials:RedisTimeout"] = "00:00:05",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var logs = new LogCapture();
        var app = GatewayApplication.Build(["--urls", "http://127.0.0.1:0", "--environment", "Development"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(configuration);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
            services?.Invoke(builder.Services);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new InProcessGateway(app, new Uri(address), logs, spool, ownsSpool);
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress };

    /// <summary>
    /// Waits until the gateway listens for credential changes. Subscribing clears the credential cache (what was cached
    /// before may have missed a revocation), so a test that relies on a cached credential during a Redis outage (these
    /// tests have no TokenService to ask instead) must cache it after this.
    /// </summary>
    public async Task WaitForCredentialSubscriptionAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Logs.Lines.Any(line => line.Contains("Listening for credential changes", StringComparison.Ordinal)))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The gateway did not subscribe to credential changes within 30 s.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Stops the host the way a deployment does (graceful shutdown), keeping the object for inspection.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsSpool)
        {
            try
            {
                Directory.Delete(SpoolDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

public static class TestSecrets
{
    public const string UpstreamKey = "sk-ant-test-upstream-key-0123456789";
}
