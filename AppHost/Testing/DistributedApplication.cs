using LlmGateway.AppHost.Model;
using LlmGateway.AppHost.Orchestration;

namespace LlmGateway.AppHost.Testing;

/// <summary>A running application started by <see cref="DistributedApplicationTestingBuilder"/>.</summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private readonly Orchestrator _orchestrator;
    private readonly DistributedApplicationModel _model;
    private bool _disposed;

    internal DistributedApplication(Orchestrator orchestrator, DistributedApplicationModel model, string stateDirectory)
    {
        _orchestrator = orchestrator;
        _model = model;
        StateDirectory = stateDirectory;
    }

    /// <summary>Where Redis and PostgreSQL keep their data and the generated parameters are stored.</summary>
    public string StateDirectory { get; }

    public DistributedApplicationModel Model => _model;

    /// <summary>Every started instance (one per replica), for process-level checks.</summary>
    public IReadOnlyList<ResourceInstance> Instances => _orchestrator.Instances;

    /// <summary>The http endpoint of a project resource (or the server address of redis/postgres).</summary>
    public Uri GetEndpoint(string resourceName, int replica = 0)
    {
        var instance = Instance(resourceName, replica);
        return new Uri(instance switch
        {
            ProjectInstance p => $"http://127.0.0.1:{p.Port}",
            _ => instance.Url ?? throw new InvalidOperationException($"'{resourceName}' has no endpoint."),
        });
    }

    public HttpClient CreateHttpClient(string resourceName, int replica = 0) =>
        new() { BaseAddress = GetEndpoint(resourceName, replica) };

    public Task<string?> GetConnectionStringAsync(string resourceName) =>
        Task.FromResult(_model.Get(resourceName) is IResourceWithConnectionString r ? _orchestrator.Context.ConnectionString(r) : null);

    public string GetParameter(string name) =>
        _orchestrator.Context.Parameters.Get((ParameterResource)_model.Get(name))
        ?? throw new InvalidOperationException($"Parameter '{name}' has no value.");

    public Task WaitForResourceHealthyAsync(string resourceName, CancellationToken ct = default) =>
        _orchestrator.WaitForHealthyAsync(resourceName, ct);

    public Task StopResourceAsync(string resourceName) => _orchestrator.StopResourceAsync(resourceName);

    public Task StartResourceAsync(string resourceName, CancellationToken ct = default) => _orchestrator.StartResourceAsync(resourceName, ct);

    /// <summary>Everything the resource (all its replicas) printed, oldest first.</summary>
    public IReadOnlyList<string> GetLogs(string resourceName)
    {
        var resource = _model.Get(resourceName);
        return _orchestrator.Context.Instances.TryGetValue(resource, out var instances)
            ? instances.SelectMany(i => i.Log.Snapshot()).ToList()
            : [];
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _orchestrator.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private ResourceInstance Instance(string resourceName, int replica)
    {
        var resource = _model.Get(resourceName);
        if (!_orchestrator.Context.Instances.TryGetValue(resource, out var instances))
        {
            throw new InvalidOperationException($"'{resourceName}' was not started in this app.");
        }

        return instances[replica];
    }
}
