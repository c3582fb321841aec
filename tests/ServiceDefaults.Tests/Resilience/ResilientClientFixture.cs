using LlmGateway.ServiceDefaults.Resilience;
using LlmGateway.ServiceDefaults.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmGateway.ServiceDefaults.Tests.Resilience;

/// <summary>
/// A host built exactly as a service builds it (<c>AddServiceDefaults</c>), with a fake clock and a scripted
/// innermost handler, so the resilience pipeline runs for real without sleeping.
/// </summary>
internal sealed class ResilientClient : IDisposable
{
    public const string ClientName = "upstream";

    private readonly IHost _host;

    private ResilientClient(IHost host, FakeTimeProvider clock, ScriptedHandler handler)
    {
        _host = host;
        Clock = clock;
        Handler = handler;
        Client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient(ClientName);
    }

    public FakeTimeProvider Clock { get; }

    public ScriptedHandler Handler { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _host.Services;

    public static ResilientClient Create(
        Action<HttpResilienceOptions>? configure,
        params Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>[] script) =>
        Create(configure, null, null, script);

    public static ResilientClient Create(
        Action<HttpResilienceOptions>? configure,
        IDictionary<string, string?>? configuration,
        Action<IHttpClientBuilder>? configureClient,
        params Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>[] script)
    {
        var clock = new FakeTimeProvider();
        var handler = new ScriptedHandler(clock, script);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ApplicationName = "ServiceDefaults.Tests" });
        builder.Configuration.AddInMemoryCollection(configuration ?? new Dictionary<string, string?>());
        builder.AddServiceDefaults();
        builder.Services.AddSingleton<TimeProvider>(clock);

        var client = builder.Services.AddHttpClient(ClientName, c => c.BaseAddress = new Uri("http://upstream"))
            .ConfigurePrimaryHttpMessageHandler(() => handler);
        if (configure is not null)
        {
            client.ConfigureStandardResilience(configure);
        }

        configureClient?.Invoke(client);
        return new ResilientClient(builder.Build(), clock, handler);
    }

    /// <summary>Deterministic back-off: 2 s, 4 s, 8 s.</summary>
    public static void NoJitter(HttpResilienceOptions options) => options.Retry.UseJitter = false;

    public void Dispose() => _host.Dispose();
}
