using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace LlmGateway.Testing;

/// <summary>A running app started by <see cref="TestAppBuilder"/>. Dispose it to stop every process and delete its state.</summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly IReadOnlyList<IResource> _started;
    private readonly bool _echo;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _logs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IResource> _instances = new(StringComparer.Ordinal);
    private readonly Task _watching;
    private bool _disposed;

    internal TestApp(DistributedApplication app, string stateDirectory, IReadOnlyList<IResource> started, bool echo)
    {
        App = app;
        StateDirectory = stateDirectory;
        _started = started;
        _echo = echo;
        _watching = Task.Run(WatchInstancesAsync);
    }

    /// <summary>The Aspire application, for anything this wrapper does not cover.</summary>
    public DistributedApplication App { get; }

    /// <summary>Where Redis and PostgreSQL keep their data and the generated parameters are stored.</summary>
    public string StateDirectory { get; }

    public ResourceNotificationService Notifications => App.Services.GetRequiredService<ResourceNotificationService>();

    /// <summary>The address of a resource: its (proxied) http endpoint, or for a replica, that replica's own port.</summary>
    public Uri GetEndpoint(string resourceName, int replica = 0)
    {
        if (replica == 0 && Replicas(resourceName) <= 1)
        {
            var resource = (IResourceWithEndpoints)Resource(resourceName);
            return App.GetEndpoint(resourceName, resource.GetEndpoints().First().EndpointName);
        }

        // Replicas share one proxied address; a test that must reach one replica goes to the port it listens on.
        var urls = Snapshot(InstanceIds(resourceName)[replica])?.EnvironmentVariables
            .FirstOrDefault(e => e.Name == "ASPNETCORE_URLS")?.Value
            ?? throw new InvalidOperationException($"Replica {replica} of '{resourceName}' has no ASPNETCORE_URLS yet.");
        return new Uri(urls.Split(';')[0]);
    }

    public HttpClient CreateHttpClient(string resourceName, int replica = 0) => new() { BaseAddress = GetEndpoint(resourceName, replica) };

    public async Task<string?> GetConnectionStringAsync(string resourceName) =>
        await App.GetConnectionStringAsync(resourceName).ConfigureAwait(false);

    public string GetParameter(string name) =>
        ((ParameterResource)Resource(name)).GetValueAsync(default).AsTask().GetAwaiter().GetResult()
        ?? throw new InvalidOperationException($"Parameter '{name}' has no value.");

    /// <summary>
    /// Waits until the resource is healthy; for a replicated one, until every replica is (Aspire's own wait is satisfied
    /// by the first, and a test that goes to replica 0's port then finds nothing listening on a loaded machine).
    /// </summary>
    /// <remarks>
    /// Waits through an exit: the AppHost starts a crashed service again (<c>CrashedServiceRestarter</c>), as it does in
    /// production, so a process that dies once while the machine is loaded does not fail the test; one that keeps dying
    /// runs into the caller's deadline, whose message lists each unhealthy instance with its exit code and last lines.
    /// </remarks>
    public async Task WaitForResourceHealthyAsync(string resourceName, CancellationToken ct = default)
    {
        await Notifications.WaitForResourceHealthyAsync(resourceName, WaitBehavior.WaitOnResourceUnavailable, ct).ConfigureAwait(false);
        var replicas = Replicas(resourceName);
        if (replicas <= 1)
        {
            return;
        }

        while (InstanceIds(resourceName).Count < replicas)
        {
            await Task.Delay(50, ct).ConfigureAwait(false);
        }

        await Task.WhenAll(InstanceIds(resourceName).Select(id => Notifications.WaitForResourceAsync(
            resourceName, e => e.ResourceId == id && e.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy
                && e.Snapshot.State?.Text == KnownResourceStates.Running, ct))).ConfigureAwait(false);
    }

    /// <summary>Stops every replica of a resource (as the dashboard's Stop does) and waits until it has exited.</summary>
    public async Task StopResourceAsync(string resourceName)
    {
        foreach (var id in InstanceIds(resourceName))
        {
            var result = await App.ResourceCommands.ExecuteCommandAsync(id, KnownResourceCommands.StopCommand).ConfigureAwait(false);
            if (!result.Success)
            {
                throw new InvalidOperationException($"Stopping {id} failed: {result.Message}");
            }
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Task.WhenAll(InstanceIds(resourceName).Select(id => Notifications.WaitForResourceAsync(
            resourceName, e => e.ResourceId == id && KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text), timeout.Token))).ConfigureAwait(false);
    }

    /// <summary>Starts every replica of a stopped resource and waits until it is healthy again.</summary>
    public async Task StartResourceAsync(string resourceName, CancellationToken ct = default)
    {
        foreach (var id in InstanceIds(resourceName))
        {
            var result = await App.ResourceCommands.ExecuteCommandAsync(id, KnownResourceCommands.StartCommand, ct).ConfigureAwait(false);
            if (!result.Success)
            {
                throw new InvalidOperationException($"Starting {id} failed: {result.Message}");
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        await Task.WhenAll(InstanceIds(resourceName).Select(id => Notifications.WaitForResourceAsync(
            resourceName, e => e.ResourceId == id && e.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy
                && e.Snapshot.State?.Text == KnownResourceStates.Running, timeout.Token))).ConfigureAwait(false);
    }

    /// <summary>Everything the resource (all its replicas) printed so far, oldest first per replica.</summary>
    public IReadOnlyList<string> GetLogs(string resourceName) =>
        InstanceIds(resourceName).SelectMany(id => _logs.TryGetValue(id, out var lines) ? lines.ToArray() : []).ToList();

    /// <summary>
    /// Waits until a resource has printed a matching line. Console output reaches the AppHost asynchronously, so a
    /// test that looks for a line its request caused must wait for it rather than race it.
    /// </summary>
    public async Task<string> WaitForLogAsync(string resourceName, Func<string, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (GetLogs(resourceName).FirstOrDefault(match) is { } line)
            {
                return line;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{resourceName}' did not print the expected line; its last lines:\n{string.Join('\n', GetLogs(resourceName).TakeLast(20))}");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The process ids of a resource's replicas. For a project that is its application process (the child of the
    /// <c>dotnet run</c> that DCP starts), the process that serves requests and that a kill test must hit.
    /// </summary>
    public IReadOnlyList<int> ProcessIds(string resourceName)
    {
        var pids = new List<int>();
        foreach (var id in InstanceIds(resourceName))
        {
            var pid = Snapshot(id)?.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value;
            if (pid is null || !int.TryParse(Convert.ToString(pid, CultureInfo.InvariantCulture), CultureInfo.InvariantCulture, out var launcher))
            {
                continue;
            }

            pids.Add(Resource(resourceName) is ProjectResource ? ProcessTree.ApplicationProcess(launcher) ?? launcher : launcher);
        }

        return pids;
    }

    /// <summary>The DCP instance ids of a resource (one per replica), in a stable order.</summary>
    public IReadOnlyList<string> InstanceIds(string resourceName) =>
        _instances.Where(i => string.Equals(i.Value.Name, resourceName, StringComparison.OrdinalIgnoreCase))
            .Select(i => i.Key).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } ids
            ? ids
            : [resourceName];

    public CustomResourceSnapshot? Snapshot(string resourceId) =>
        Notifications.TryGetCurrentState(resourceId, out var current) ? current.Snapshot : null;

    internal string DescribeUnhealthy()
    {
        var text = new StringBuilder();
        foreach (var resource in _started)
        {
            foreach (var id in InstanceIds(resource.Name))
            {
                var snapshot = Snapshot(id);
                if (snapshot?.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy)
                {
                    continue;
                }

                var exit = snapshot?.ExitCode is int code ? $", exit code {code}" : "";
                text.Append(CultureInfo.InvariantCulture, $"  {id}: {snapshot?.State?.Text ?? "unknown"}{exit}, {snapshot?.HealthStatus?.ToString() ?? "no health"}\n");
                foreach (var line in (_logs.TryGetValue(id, out var lines) ? lines.ToArray() : []).TakeLast(15))
                {
                    text.Append("    | ").Append(line).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        finally
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await App.DisposeAsync().ConfigureAwait(false);
            try
            {
                await _watching.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            _stop.Dispose();
            try
            {
                Directory.Delete(StateDirectory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private IResource Resource(string name) =>
        App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .Single(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));

    private int Replicas(string name) => Resource(name).Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1;

    /// <summary>Learns each resource instance as it appears and keeps its console output.</summary>
    private async Task WatchInstancesAsync()
    {
        var loggers = App.Services.GetRequiredService<ResourceLoggerService>();
        await foreach (var change in Notifications.WatchAsync(_stop.Token).ConfigureAwait(false))
        {
            if (change.Resource is ParameterResource || !_instances.TryAdd(change.ResourceId, change.Resource))
            {
                continue;
            }

            var lines = _logs.GetOrAdd(change.ResourceId, _ => new ConcurrentQueue<string>());
            var id = change.ResourceId;
            _ = Task.Run(async () =>
            {
                try
                {
                    await foreach (var batch in loggers.WatchAsync(id).WithCancellation(_stop.Token).ConfigureAwait(false))
                    {
                        foreach (var line in batch)
                        {
                            lines.Enqueue(line.Content);
                            if (_echo)
                            {
                                Console.WriteLine($"[{id}] {line.Content}");
                            }
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
        }
    }
}
