namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// PostgreSQL as a local <c>postgres</c> process from the Debian packages: what <c>AddPostgres</c> gives dependents
/// (<c>Host=…;Port=…;Username=postgres;Password=…</c> and the same connection properties), without a container engine.
/// As root the server runs as the <c>postgres</c> system user (PostgreSQL refuses to run as root).
/// </summary>
public sealed class LocalPostgresServerResource(string name, string command, string directory, ParameterResource password)
    : ExecutableResource(name, command, directory), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";
    public const string UserName = "postgres";

    private readonly Dictionary<string, LocalPostgresDatabaseResource> _databases = new(StringComparer.OrdinalIgnoreCase);
    private EndpointReference? _primaryEndpoint;

    public ParameterResource PasswordParameter { get; } = password;

    /// <summary>The server's folder: <c>data/</c> (the cluster) and <c>sockets/</c> live under it.</summary>
    public string Directory { get; } = directory;

    public string DataDirectory => Path.Combine(Directory, "data");

    public string SocketDirectory => Path.Combine(Directory, "sockets");

    public IReadOnlyCollection<LocalPostgresDatabaseResource> Databases => _databases.Values;

    public EndpointReference PrimaryEndpoint => _primaryEndpoint ??= new(this, PrimaryEndpointName);

    public EndpointReferenceExpression Host => PrimaryEndpoint.Property(EndpointProperty.Host);

    public EndpointReferenceExpression Port => PrimaryEndpoint.Property(EndpointProperty.Port);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Host={Host};Port={Port};Username={UserName};Password={PasswordParameter}");

    public ReferenceExpression UriExpression =>
        ReferenceExpression.Create($"postgresql://{UserName}:{PasswordParameter:uri}@{Host}:{Port}");

    internal void AddDatabase(LocalPostgresDatabaseResource database) => _databases.TryAdd(database.Name, database);

    IEnumerable<KeyValuePair<string, ReferenceExpression>> IResourceWithConnectionString.GetConnectionProperties() =>
    [
        new("Host", ReferenceExpression.Create($"{Host}")),
        new("Port", ReferenceExpression.Create($"{Port}")),
        new("Username", ReferenceExpression.Create($"{UserName}")),
        new("Password", ReferenceExpression.Create($"{PasswordParameter}")),
        new("Uri", UriExpression),
    ];
}

/// <summary>A database of a <see cref="LocalPostgresServerResource"/>, created when the server is first ready.</summary>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, LocalPostgresServerResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresServerResource>, IResourceWithConnectionString
{
    public LocalPostgresServerResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Parent};Database={DatabaseName}");

    IEnumerable<KeyValuePair<string, ReferenceExpression>> IResourceWithConnectionString.GetConnectionProperties() =>
    [
        .. ((IResourceWithConnectionString)Parent).GetConnectionProperties().Where(p => p.Key != "Uri"),
        new("Uri", ReferenceExpression.Create($"{Parent.UriExpression}/{DatabaseName}")),
        new("DatabaseName", ReferenceExpression.Create($"{DatabaseName}")),
    ];
}
