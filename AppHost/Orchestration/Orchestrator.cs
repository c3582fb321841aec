using System.Globalization;
using System.Text;
using LlmGateway.AppHost.Model;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.AppHost.Orchestration;

/// <summary>
/// Run mode: starts every resource of the model as a local process, each after what it depends on is healthy,
/// keeps them running (restart with backoff), and stops them all.
/// </summary>
public sealed class Orchestrator : IAsyncDisposable
{
    private static readonly ConsoleColor[] Colors =
        [ConsoleColor.Cyan, ConsoleColor.Green, ConsoleColor.Yellow, ConsoleColor.Magenta, ConsoleColor.Blue, ConsoleColor.DarkCyan, ConsoleColor.DarkYellow, ConsoleColor.DarkGreen];

    private readonly List<ResourceInstance> _all = [];
    private bool _stopped;

    public Orchestrator(DistributedApplicationModel model, AppHostOptions options, IConfiguration configuration)
    {
        Directory.CreateDirectory(options.StateDirectory);
        Context = new RunContext(model, options, new ParameterStore(configuration, options.StateDirectory));
        HostLog = new ResourceLog("apphost", options.LogCapacity, options.EchoLogs, ConsoleColor.White);
    }

    public RunContext Context { get; }

    public ResourceLog HostLog { get; }

    public IReadOnlyList<ResourceInstance> Instances => _all;

    /// <summary>Starts <paramref name="only"/> and what they need (everything when null); returns when all are healthy.</summary>
    public async Task StartAsync(IReadOnlyCollection<string>? only, TimeSpan timeout, CancellationToken ct)
    {
        var model = Context.Model;
        var resources = only is null ? model.Resources : model.Closure(only);
        var color = 0;
        foreach (var resource in resources)
        {
            var instances = Create(resource, () => Colors[color++ % Colors.Length]);
            if (instances.Count > 0)
            {
                Context.Instances[resource] = instances;
                _all.AddRange(instances);
            }
        }

        foreach (var instance in _all)
        {
            StartInstance(instance);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            await Task.WhenAll(_all.Select(i => i.WhenHealthy)).WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or PrerequisiteMissingException && !ct.IsCancellationRequested)
        {
            var report = new StringBuilder($"Not every resource became healthy within {timeout.TotalSeconds:0}s:");
            foreach (var instance in _all.Where(i => i.State != ResourceState.Healthy))
            {
                report.Append(CultureInfo.InvariantCulture, $"\n  {instance.Name}: {instance.State}");
                foreach (var line in instance.Log.Snapshot().TakeLast(15))
                {
                    report.Append("\n    | ").Append(line);
                }
            }

            throw new TimeoutException(report.ToString(), ex);
        }
    }

    public Task WaitForHealthyAsync(string resourceName, CancellationToken ct) =>
        WaitForHealthyAsync(Context.Model.Get(resourceName), ct);

    public async Task StopResourceAsync(string resourceName)
    {
        var resource = Context.Model.Get(resourceName);
        await Task.WhenAll(Context.Instances[resource].Select(i => i.StopAsync())).ConfigureAwait(false);
    }

    public async Task StartResourceAsync(string resourceName, CancellationToken ct)
    {
        var resource = Context.Model.Get(resourceName);
        foreach (var instance in Context.Instances[resource])
        {
            StartInstance(instance);
        }

        await WaitForHealthyAsync(resource, ct).ConfigureAwait(false);
    }

    /// <summary>Stops services first (they hold connections), then Redis and PostgreSQL.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await Task.WhenAll(_all.Where(i => i is ProjectInstance).Select(i => i.StopAsync())).ConfigureAwait(false);
        await Task.WhenAll(_all.Where(i => i is not ProjectInstance).Select(i => i.StopAsync())).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>The table printed when everything is healthy: resource, state, URL.</summary>
    public string DescribeResources()
    {
        var rows = _all.Select(i => (i.Name, State: i.State.ToString(), Url: i.Url ?? "")).ToList();
        var w1 = Math.Max("resource".Length, rows.Max(r => r.Name.Length));
        var w2 = Math.Max("state".Length, rows.Max(r => r.State.Length));
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"resource".PadRight(w1)}  {"state".PadRight(w2)}  url");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {new string('-', w1)}  {new string('-', w2)}  {new string('-', 30)}");
        foreach (var (name, state, url) in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {name.PadRight(w1)}  {state.PadRight(w2)}  {url}");
        }

        return text.ToString();
    }

    private void StartInstance(ResourceInstance instance) =>
        instance.Start(ct => Task.WhenAll(DistributedApplicationModel.Dependencies(instance.Resource).Select(d => WaitForHealthyAsync(d, ct))));

    private async Task WaitForHealthyAsync(Resource resource, CancellationToken ct)
    {
        switch (resource)
        {
            case ParameterResource:
                return;
            case PostgresDatabaseResource database:
                // The server creates its databases before it reports healthy.
                await WaitForHealthyAsync(database.Server, ct).ConfigureAwait(false);
                return;
        }

        if (!Context.Instances.TryGetValue(resource, out var instances))
        {
            throw new InvalidOperationException($"'{resource.Name}' is needed but was not started.");
        }

        await Task.WhenAll(instances.Select(i => i.WhenHealthy)).WaitAsync(ct).ConfigureAwait(false);
    }

    private List<ResourceInstance> Create(Resource resource, Func<ConsoleColor> nextColor)
    {
        ResourceLog Log(string name) => new(name, Context.Options.LogCapacity, Context.Options.EchoLogs, nextColor());
        return resource switch
        {
            RedisResource redis => [new RedisInstance(redis, Log(redis.Name), Context)],
            PostgresServerResource server => [new PostgresInstance(server, Log(server.Name), Context)],
            ProjectResource project => Enumerable.Range(0, project.Replicas)
                .Select(i => (ResourceInstance)new ProjectInstance(project, i, Log(project.Replicas == 1 ? project.Name : $"{project.Name}-{i}"), Context))
                .ToList(),
            _ => [],
        };
    }
}
