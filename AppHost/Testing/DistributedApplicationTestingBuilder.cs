using LlmGateway.AppHost.Model;
using LlmGateway.AppHost.Orchestration;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.AppHost.Testing;

/// <summary>
/// Starts the application model for a test, as Aspire.Hosting.Testing does: the same resources as
/// <c>dotnet run --project AppHost</c>, with every port allocated and state in a fresh temporary folder, so several
/// apps can run side by side. Dispose the returned app to stop every process and delete the state.
/// </summary>
public sealed class DistributedApplicationTestingBuilder
{
    private readonly Dictionary<string, string?> _configuration = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _replicas = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Dictionary<string, string>> _environment = new(StringComparer.OrdinalIgnoreCase);
    private string[]? _only;

    private DistributedApplicationTestingBuilder()
    {
    }

    /// <summary>Echo resource output to the console (set <c>LLMGW_TEST_LOGS=1</c> to see it in test output).</summary>
    public bool EchoLogs { get; set; } = Environment.GetEnvironmentVariable("LLMGW_TEST_LOGS") == "1";

    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(120);

    public static DistributedApplicationTestingBuilder Create() => new();

    /// <summary>Sets <c>Parameters:{name}</c>, as the operator would with <c>Parameters__{name}</c>.</summary>
    public DistributedApplicationTestingBuilder WithParameter(string name, string value) =>
        WithConfiguration($"Parameters:{name}", value);

    /// <summary>Sets any AppHost configuration key (e.g. <c>Upstream:BaseUrl</c>).</summary>
    public DistributedApplicationTestingBuilder WithConfiguration(string key, string? value)
    {
        _configuration[key] = value;
        return this;
    }

    /// <summary>Starts only these resources and what they depend on.</summary>
    public DistributedApplicationTestingBuilder WithResources(params string[] names)
    {
        _only = names;
        return this;
    }

    public DistributedApplicationTestingBuilder WithReplicas(string project, int replicas)
    {
        _replicas[project] = replicas;
        return this;
    }

    /// <summary>Adds an environment variable to a project resource (applied after the model's own).</summary>
    public DistributedApplicationTestingBuilder WithEnvironment(string project, string name, string value)
    {
        if (!_environment.TryGetValue(project, out var env))
        {
            _environment[project] = env = new(StringComparer.Ordinal);
        }

        env[name] = value;
        return this;
    }

    public async Task<DistributedApplication> StartAsync(CancellationToken ct = default)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(_configuration).Build();
        var model = LlmGatewayApp.Build(configuration);
        foreach (var (name, replicas) in _replicas)
        {
            ((ProjectResource)model.Get(name)).WithReplicas(replicas);
        }

        var state = Directory.CreateTempSubdirectory("llmgw-test-").FullName;
        if (!OperatingSystem.IsWindows())
        {
            // The postgres system user runs the database server and must reach its data folder.
            File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        }

        var options = new AppHostOptions
        {
            RepositoryRoot = BuildInfo.RepositoryRoot,
            BuildConfiguration = BuildInfo.Configuration,
            StateDirectory = state,
            RandomizePorts = true,
            Ephemeral = true,
            EchoLogs = EchoLogs,
            EnvironmentName = "Development",
            ExtraEnvironment = _environment,
        };
        var orchestrator = new Orchestrator(model, options, configuration);
        var app = new DistributedApplication(orchestrator, model, state);
        try
        {
            await orchestrator.StartAsync(_only, StartTimeout, ct).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return app;
    }
}
