using System.Globalization;
using LlmGateway.AppHost.Model;

namespace LlmGateway.AppHost.Orchestration;

/// <summary>One replica of a service project, started with <c>dotnet {Project}.dll</c> from its build output.</summary>
public sealed class ProjectInstance(ProjectResource project, int replica, ResourceLog log, RunContext run) : ResourceInstance(project, log)
{
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(3) };
    private ManagedProcess? _process;

    public int Replica { get; } = replica;

    public int Port { get; } = run.PortFor(project, project.HttpEndpoint.Name, replica);

    public override string Name => project.Replicas == 1 ? project.Name : $"{project.Name}-{Replica}";

    /// <summary>Public endpoints listen on <c>localhost</c> (IPv4 and IPv6); internal ones on 127.0.0.1.</summary>
    public override string Url => project.HttpEndpoint.IsExternal
        ? $"http://localhost:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public string ProjectDirectory => Path.Combine(run.Options.RepositoryRoot, project.ProjectName);

    public string AssemblyPath => Path.Combine(ProjectDirectory, "bin", run.Options.BuildConfiguration, "net10.0", project.ProjectName + ".dll");

    protected override async Task<Task<int>> LaunchAsync(CancellationToken ct)
    {
        if (!File.Exists(AssemblyPath))
        {
            throw new InvalidOperationException(
                $"{AssemblyPath} does not exist. Build the solution first (dotnet build LlmGateway.sln -c {run.Options.BuildConfiguration}).");
        }

        if (project.HttpEndpoint.IsExternal && !PortAllocator.IsFree(Port))
        {
            throw new InvalidOperationException(
                $"port {Port} is in use. Stop what holds it, or choose another port with Ports__{project.Name}=<port>.");
        }

        await run.Stale.KillLeftoverAsync(Name, project.ProjectName + ".dll", Log.Write).ConfigureAwait(false);
        _process = ManagedProcess.Start("dotnet", [AssemblyPath], ProjectDirectory, run.EnvironmentFor(this), Log);
        run.Stale.Record(Name, _process.Id);
        ProcessId = _process.Id;
        return _process.Exited;
    }

    protected override async Task<bool> ProbeAsync(CancellationToken ct)
    {
        using var response = await Probe.GetAsync($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/health", ct).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }

    protected override async Task TerminateAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(4)).ConfigureAwait(false);
            run.Stale.Forget(Name);
        }
    }
}
