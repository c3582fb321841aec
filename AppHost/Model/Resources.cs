namespace LlmGateway.AppHost.Model;

/// <summary>
/// A resource of the application model: a plain object with a name. What it can do is described by the
/// derived type and its annotations, so that run mode and publishers read the same facts.
/// </summary>
public abstract class Resource(string name)
{
    public string Name { get; } = name;

    /// <summary>Resources that must be healthy before this one starts.</summary>
    public List<Resource> WaitsFor { get; } = [];

    public override string ToString() => Name;
}

/// <summary>A resource that can be referenced by a connection string (<c>ConnectionStrings__{Name}</c>).</summary>
public interface IResourceWithConnectionString
{
    string Name { get; }
}

/// <summary>A secret or setting read from configuration <c>Parameters:{name}</c>; optionally generated and persisted.</summary>
public sealed class ParameterResource(string name, bool secret, Func<string>? generate) : Resource(name)
{
    public bool Secret { get; } = secret;

    /// <summary>Produces a value when configuration has none; null means the parameter is optional.</summary>
    public Func<string>? Generate { get; } = generate;
}

/// <summary>A Redis server (run mode: a local <c>redis-server</c> process; publish: the redis container).</summary>
public sealed class RedisResource(string name, ParameterResource password) : Resource(name), IResourceWithConnectionString
{
    public ParameterResource Password { get; } = password;
    public EndpointAnnotation Endpoint { get; } = new("tcp", "tcp", TargetPort: 6379);
}

/// <summary>A PostgreSQL server (run mode: a local <c>postgres</c> process; publish: the postgres container).</summary>
public sealed class PostgresServerResource(string name, ParameterResource password) : Resource(name), IResourceWithConnectionString
{
    public const string UserName = "postgres";
    public ParameterResource Password { get; } = password;
    public EndpointAnnotation Endpoint { get; } = new("tcp", "tcp", TargetPort: 5432);
    public List<PostgresDatabaseResource> Databases { get; } = [];
}

/// <summary>A database on a PostgreSQL server; created by the AppHost when the server is ready.</summary>
public sealed class PostgresDatabaseResource(string name, string databaseName, PostgresServerResource server)
    : Resource(name), IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;
    public PostgresServerResource Server { get; } = server;
}

/// <summary>A .NET project of this repository, started from its build output.</summary>
public sealed class ProjectResource(string name, string projectName) : Resource(name)
{
    /// <summary>The folder and assembly name under the repository root (e.g. <c>Gateway</c>).</summary>
    public string ProjectName { get; } = projectName;

    public List<EndpointAnnotation> Endpoints { get; } = [new("http", "http", TargetPort: 8080)];
    public List<Resource> References { get; } = [];
    public List<(string Name, Func<EnvironmentContext, string?> Value)> Environment { get; } = [];
    public int Replicas { get; set; } = 1;

    public EndpointAnnotation HttpEndpoint => Endpoints[0];
}

/// <summary>
/// An endpoint. <see cref="Port"/> is the fixed public port in run mode (null: allocated);
/// <see cref="TargetPort"/> is the port the process listens on in a container (publish mode).
/// </summary>
public sealed record EndpointAnnotation(string Name, string Scheme, int TargetPort)
{
    public int? Port { get; set; }
    public bool IsExternal { get; set; }
}

/// <summary>Resolves values that depend on where resources run (run mode) or on manifest expressions (publish).</summary>
public abstract class EnvironmentContext
{
    public abstract string? ParameterValue(ParameterResource parameter);
    public abstract string? ConnectionString(IResourceWithConnectionString resource);
    /// <summary>The base URL of an endpoint of a project, as another project would address it.</summary>
    public abstract string EndpointUrl(ProjectResource project, string endpointName = "http");

    /// <summary>
    /// A durable folder of this app run for a service's local data (run mode: under the state folder); null where
    /// the platform provides one (publish mode: the service's own default, a volume).
    /// </summary>
    public abstract string? DataDirectory(string name);
}
