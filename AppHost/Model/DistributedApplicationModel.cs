namespace LlmGateway.AppHost.Model;

/// <summary>The resources of one application, in declaration order, with Aspire-like builder methods.</summary>
public sealed class DistributedApplicationModel
{
    private readonly List<Resource> _resources = [];

    public IReadOnlyList<Resource> Resources => _resources;

    public T Add<T>(T resource) where T : Resource
    {
        if (_resources.Any(r => string.Equals(r.Name, resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' already exists.");
        }

        _resources.Add(resource);
        return resource;
    }

    public Resource Get(string name) =>
        _resources.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No resource named '{name}'. Known: {string.Join(", ", _resources.Select(r => r.Name))}.");

    public bool TryGet(string name, out Resource? resource)
    {
        resource = _resources.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));
        return resource is not null;
    }

    public ParameterResource AddParameter(string name, bool secret = true, Func<string>? generate = null) =>
        Add(new ParameterResource(name, secret, generate));

    public RedisResource AddRedis(string name) =>
        Add(new RedisResource(name, AddParameter($"{name}-password", generate: () => PasswordGenerator.Generate(22, special: false))));

    public PostgresServerResource AddPostgres(string name) =>
        Add(new PostgresServerResource(name, AddParameter($"{name}-password", generate: () => PasswordGenerator.Generate(22, special: true))));

    public PostgresDatabaseResource AddDatabase(PostgresServerResource server, string name, string? databaseName = null)
    {
        var database = Add(new PostgresDatabaseResource(name, databaseName ?? name, server));
        database.WaitsFor.Add(server);
        server.Databases.Add(database);
        return database;
    }

    public ProjectResource AddProject(string name, string projectName) => Add(new ProjectResource(name, projectName));

    /// <summary>The resources <paramref name="roots"/> need, transitively, including themselves.</summary>
    public IReadOnlyList<Resource> Closure(IEnumerable<string> roots)
    {
        var result = new List<Resource>();
        void Visit(Resource r)
        {
            if (result.Contains(r))
            {
                return;
            }

            result.Add(r);
            foreach (var dependency in Dependencies(r))
            {
                Visit(dependency);
            }
        }

        foreach (var root in roots)
        {
            Visit(Get(root));
        }

        return _resources.Where(result.Contains).ToList();
    }

    /// <summary>Everything a resource needs before it can start: its waits, references and parameters.</summary>
    public static IEnumerable<Resource> Dependencies(Resource resource)
    {
        foreach (var w in resource.WaitsFor)
        {
            yield return w;
        }

        switch (resource)
        {
            case ProjectResource p:
                foreach (var r in p.References)
                {
                    yield return r;
                }

                break;
            case RedisResource r:
                yield return r.Password;
                break;
            case PostgresServerResource s:
                yield return s.Password;
                break;
        }
    }
}

/// <summary>Builder methods in Aspire's style: capabilities are added by small methods, never stated twice.</summary>
public static class ResourceBuilderExtensions
{
    /// <summary>References a resource: connection string or service endpoint in the environment; implies waiting for it.</summary>
    public static ProjectResource WithReference(this ProjectResource project, Resource resource)
    {
        project.References.Add(resource);
        if (resource is not ParameterResource)
        {
            project.WaitsFor.Add(resource);
        }

        return project;
    }

    public static ProjectResource WithEnvironment(this ProjectResource project, string name, Func<EnvironmentContext, string?> value)
    {
        project.Environment.Add((name, value));
        return project;
    }

    public static ProjectResource WithEnvironment(this ProjectResource project, string name, string value) =>
        project.WithEnvironment(name, _ => value);

    public static ProjectResource WithEnvironment(this ProjectResource project, string name, ParameterResource parameter)
    {
        project.References.Add(parameter);
        return project.WithEnvironment(name, ctx => ctx.ParameterValue(parameter));
    }

    /// <summary>Marks the http endpoint as public with a fixed default port (run mode).</summary>
    public static ProjectResource WithExternalHttpEndpoint(this ProjectResource project, int port)
    {
        project.HttpEndpoint.Port = port;
        project.HttpEndpoint.IsExternal = true;
        return project;
    }

    public static ProjectResource WithReplicas(this ProjectResource project, int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        project.Replicas = replicas;
        return project;
    }
}
