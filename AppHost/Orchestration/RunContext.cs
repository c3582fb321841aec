using System.Globalization;
using System.Security.Cryptography;
using LlmGateway.AppHost.Model;

namespace LlmGateway.AppHost.Orchestration;

/// <summary>
/// Where the resources of one run live: ports, parameter values, instances. It is the run-mode
/// <see cref="EnvironmentContext"/>: it turns the model's references into Aspire's environment variables.
/// </summary>
public sealed class RunContext(DistributedApplicationModel model, AppHostOptions options, ParameterStore parameters) : EnvironmentContext
{
    private readonly Dictionary<(string Resource, string Endpoint, int Replica), int> _ports = [];
    private readonly Lock _gate = new();

    public DistributedApplicationModel Model { get; } = model;
    public AppHostOptions Options { get; } = options;
    public ParameterStore Parameters { get; } = parameters;
    public StaleProcesses Stale { get; } = new(options.StateDirectory);
    public Dictionary<Resource, List<ResourceInstance>> Instances { get; } = [];

    /// <summary>The port of an endpoint: fixed for public endpoints in run mode, else allocated once per run.</summary>
    public int PortFor(Resource resource, string endpoint, int replica = 0)
    {
        lock (_gate)
        {
            var key = (resource.Name, endpoint, replica);
            if (!_ports.TryGetValue(key, out var port))
            {
                var fixedPort = resource is ProjectResource { HttpEndpoint: { Port: { } p } } project && project.HttpEndpoint.Name == endpoint
                    ? p + replica
                    : (int?)null;
                port = fixedPort is { } f && !Options.RandomizePorts ? f : PortAllocator.Allocate();
                _ports[key] = port;
            }

            return port;
        }
    }

    public override string? ParameterValue(ParameterResource parameter) => Parameters.Get(parameter);

    public override string? ConnectionString(IResourceWithConnectionString resource) => resource switch
    {
        RedisResource r => Instance<RedisInstance>(r).ConnectionString,
        PostgresServerResource s => Instance<PostgresInstance>(s).ConnectionString,
        PostgresDatabaseResource d => Instance<PostgresInstance>(d.Server).DatabaseConnectionString(d),
        _ => null,
    };

    public override string EndpointUrl(ProjectResource project, string endpointName = "http") =>
        $"http://127.0.0.1:{PortFor(project, endpointName).ToString(CultureInfo.InvariantCulture)}";

    public override string DataDirectory(string name) => Path.Combine(Options.StateDirectory, name);

    public T Instance<T>(Resource resource) where T : ResourceInstance => (T)Instances[resource][0];

    /// <summary>The environment of a project process, following Aspire's run-mode conventions.</summary>
    public Dictionary<string, string?> EnvironmentFor(ProjectInstance instance)
    {
        var project = (ProjectResource)instance.Resource;
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["DOTNET_ENVIRONMENT"] = Options.EnvironmentName,
            ["ASPNETCORE_ENVIRONMENT"] = Options.EnvironmentName,
            ["ASPNETCORE_URLS"] = instance.Url,
            ["DOTNET_NOLOGO"] = "1",
            ["OTEL_SERVICE_NAME"] = project.Name,
            ["OTEL_RESOURCE_ATTRIBUTES"] = "service.instance.id=" + RandomNumberGenerator.GetHexString(8, lowercase: true),
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled",
            // Health probes every few seconds would drown the console at Information level.
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
            // The parent's own settings must not leak into a service.
            ["ASPNETCORE_HTTP_PORTS"] = null,
            ["ASPNETCORE_HTTPS_PORTS"] = null,
            ["HTTP_PORTS"] = null,
        };
        if (!string.IsNullOrEmpty(Options.OtlpEndpoint))
        {
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = Options.OtlpEndpoint;
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = Options.OtlpProtocol ?? "grpc";
        }

        foreach (var reference in project.References)
        {
            switch (reference)
            {
                case IResourceWithConnectionString withConnection:
                    env[$"ConnectionStrings__{withConnection.Name}"] = ConnectionString(withConnection);
                    break;
                case ProjectResource other:
                    for (var i = 0; i < other.Replicas; i++)
                    {
                        env[$"services__{other.Name}__{other.HttpEndpoint.Name}__{i}"] =
                            $"http://127.0.0.1:{PortFor(other, other.HttpEndpoint.Name, i).ToString(CultureInfo.InvariantCulture)}";
                    }

                    break;
            }
        }

        foreach (var (name, value) in project.Environment)
        {
            env[name] = value(this);
        }

        if (Options.ExtraEnvironment.TryGetValue(project.Name, out var extra))
        {
            foreach (var (name, value) in extra)
            {
                env[name] = value;
            }
        }

        return env;
    }
}
