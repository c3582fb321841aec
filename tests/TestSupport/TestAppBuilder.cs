using System.Reflection;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace LlmGateway.Testing;

/// <summary>
/// Starts the real AppHost (<c>Projects.AppHost</c>) through <c>Aspire.Hosting.Testing</c>: the same resources as
/// <c>dotnet run --project AppHost</c>, with ports chosen freely and the state (passwords, Redis and PostgreSQL data)
/// in a fresh temporary folder, so several apps run side by side. What this adds to
/// <see cref="DistributedApplicationTestingBuilder"/> is only what the tests keep asking for: start a part of the
/// app, set a service's environment or replicas, and wait until what was started is healthy.
/// </summary>
public sealed class TestAppBuilder
{
    private readonly Dictionary<string, string?> _configuration = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _replicas = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(string Resource, string Name, string Value)> _environment = [];
    private readonly List<string> _proxyless = [];
    private string[]? _only;
    private bool _telemetry;

    private TestAppBuilder()
    {
    }

    /// <summary>Echo every resource's output to the console (set <c>LLMGW_TEST_LOGS=1</c> to see it in test output).</summary>
    public bool EchoLogs { get; set; } = Environment.GetEnvironmentVariable("LLMGW_TEST_LOGS") == "1";

    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(180);

    public static TestAppBuilder Create() => new();

    /// <summary>The build configuration the services run from (the AppHost's: Aspire runs each project with it).</summary>
    public static string BuildConfiguration { get; } =
        typeof(LlmGateway.AppHost.Hosting.AppState).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "unknown";

    /// <summary>Sets <c>Parameters:{name}</c>, as the operator would.</summary>
    public TestAppBuilder WithParameter(string name, string value) => WithConfiguration($"Parameters:{name}", value);

    /// <summary>Sets any AppHost configuration key (e.g. <c>Upstream:BaseUrl</c>).</summary>
    public TestAppBuilder WithConfiguration(string key, string? value)
    {
        _configuration[key] = value;
        return this;
    }

    /// <summary>Starts only these resources and what they need; the other services are declared but not started.</summary>
    public TestAppBuilder WithResources(params string[] names)
    {
        _only = names;
        return this;
    }

    public TestAppBuilder WithReplicas(string project, int replicas)
    {
        _replicas[project] = replicas;
        return this;
    }

    /// <summary>Adds an environment variable to a resource (applied after the model's own, so it wins).</summary>
    public TestAppBuilder WithEnvironment(string resource, string name, string value)
    {
        _environment.Add((resource, name, value));
        return this;
    }

    /// <summary>
    /// Serves a (single-replica) project's endpoints on its own port, without DCP's development proxy in front: callers
    /// and the services that reference it reach the process itself, as in a deployment (the benchmark, whose numbers
    /// would otherwise include a user-space proxy hop per call that production does not have).
    /// </summary>
    public TestAppBuilder WithoutProxy(string project)
    {
        _proxyless.Add(project);
        return this;
    }

    /// <summary>Keeps the services' OTLP export on (to whatever <c>OTEL_*</c> a test sets on them).</summary>
    public TestAppBuilder WithTelemetry()
    {
        _telemetry = true;
        return this;
    }

    public async Task<TestApp> StartAsync(CancellationToken ct = default)
    {
        var state = Directory.CreateTempSubdirectory("llmgw-test-").FullName;
        // The postgres system user runs the database server and must reach its folder.
        File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        string[] args =
        [
            $"--AppHost:StateDirectory={state}",
            "--AppHost:Durable=false",
            .. _configuration.Select(c => $"--{c.Key}={c.Value}"),
        ];

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(args, (options, _) =>
        {
            options.DisableDashboard = true;
            options.EnableResourceLogging = false;
        }, ct).ConfigureAwait(false);

        var started = Select(builder);
        foreach (var (name, replicas) in _replicas)
        {
            builder.CreateResourceBuilder((ProjectResource)Find(builder, name)).WithReplicas(replicas);
        }

        foreach (var name in _proxyless)
        {
            foreach (var endpoint in ((ProjectResource)Find(builder, name)).Annotations.OfType<EndpointAnnotation>())
            {
                // A free port (not the gateway's public 8080): several apps run side by side.
                endpoint.IsProxied = false;
                endpoint.Port = null;
                endpoint.TargetPort = null;
            }
        }

        if (!_telemetry)
        {
            // Without a dashboard nothing receives telemetry: services that still exported would spend CPU on it and
            // wait at shutdown for exports that cannot succeed. An empty endpoint turns exporting off.
            foreach (var project in builder.Resources.OfType<ProjectResource>())
            {
                builder.CreateResourceBuilder(project).WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", "");
            }
        }

        foreach (var (resource, name, value) in _environment)
        {
            builder.CreateResourceBuilder((IResourceWithEnvironment)Find(builder, resource)).WithEnvironment(name, value);
        }

        var app = await builder.BuildAsync(ct).ConfigureAwait(false);
        var testApp = new TestApp(app, state, started, EchoLogs);
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(StartTimeout);
            try
            {
                await app.StartAsync(deadline.Token).ConfigureAwait(false);
                await Task.WhenAll(started.Select(r => testApp.WaitForResourceHealthyAsync(r.Name, deadline.Token))).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"Not every resource became healthy within {StartTimeout.TotalSeconds:0} s:\n{testApp.DescribeUnhealthy()}");
            }
        }
        catch
        {
            await testApp.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return testApp;
    }

    /// <summary>
    /// The resources to start: everything, or the named ones and what they reference or wait for. The rest is kept in
    /// the model (so references to it still resolve) but marked to start only when asked, and nothing waits for it.
    /// </summary>
    private List<IResource> Select(IDistributedApplicationTestingBuilder builder)
    {
        var all = builder.Resources.Where(r => !r.HasAnnotationOfType<ExplicitStartupAnnotation>() && r is not ParameterResource).ToList();
        if (_only is null)
        {
            return all;
        }

        var needed = new HashSet<IResource>();
        var pending = new Stack<IResource>(_only.Select(n => Find(builder, n)));
        while (pending.TryPop(out var resource))
        {
            if (!needed.Add(resource))
            {
                continue;
            }

            foreach (var wait in resource.Annotations.OfType<WaitAnnotation>())
            {
                pending.Push(wait.Resource);
            }

            foreach (var reference in resource.Annotations.OfType<ResourceRelationshipAnnotation>().Where(r => r.Type == "Reference"))
            {
                pending.Push(reference.Resource);
            }

            if (resource is IResourceWithParent child)
            {
                pending.Push(child.Parent);
            }

            // Databases and other children start with their parent.
            foreach (var child2 in builder.Resources.OfType<IResourceWithParent>().Where(c => c.Parent == resource))
            {
                pending.Push(child2);
            }
        }

        foreach (var resource in all.Where(r => !needed.Contains(r)))
        {
            resource.Annotations.Add(new ExplicitStartupAnnotation());
        }

        foreach (var resource in needed)
        {
            foreach (var wait in resource.Annotations.OfType<WaitAnnotation>().Where(w => !needed.Contains(w.Resource)).ToList())
            {
                resource.Annotations.Remove(wait);
            }
        }

        return all.Where(needed.Contains).ToList();
    }

    private static IResource Find(IDistributedApplicationTestingBuilder builder, string name) =>
        builder.Resources.SingleOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"The AppHost has no resource named '{name}'.", nameof(name));
}
