using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace LlmGateway.ServiceDefaults.Telemetry;

/// <summary>
/// Owns the tracer and meter providers. Without OpenTelemetry.Extensions.Hosting nothing else would build or
/// dispose them: they are built when the host starts (so ASP.NET Core sees a listener before the first request)
/// and disposed, which flushes pending telemetry, when the container is disposed at shutdown.
/// </summary>
internal sealed class OpenTelemetryProviders(TracerProvider tracerProvider, MeterProvider meterProvider) : IDisposable
{
    public TracerProvider TracerProvider { get; } = tracerProvider;

    public MeterProvider MeterProvider { get; } = meterProvider;

    public void Dispose()
    {
        TracerProvider.Dispose();
        MeterProvider.Dispose();
    }
}

/// <summary>Builds <see cref="OpenTelemetryProviders"/> at host start by depending on it.</summary>
internal sealed class OpenTelemetryProvidersStarter(OpenTelemetryProviders providers) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(providers);
        return Task.CompletedTask;
    }

    /// <summary>Nothing to do: disposing the providers with the container flushes them.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
