namespace LlmGateway.AppHost.Orchestration;

/// <summary>How the orchestrator runs the model: where state lives, how ports are chosen, where logs go.</summary>
public sealed class AppHostOptions
{
    /// <summary>Repository root; service projects are started from <c>{root}/{Project}/bin/{Configuration}/net10.0</c>.</summary>
    public required string RepositoryRoot { get; init; }

    public required string BuildConfiguration { get; init; }

    /// <summary>Passwords, generated parameters, data directories. Git-ignored <c>.state/</c> in run mode.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Allocate every port, including the public ones (testing: apps side by side without clashes).</summary>
    public bool RandomizePorts { get; init; }

    /// <summary>Trade durability for speed in throw-away databases (tests): no fsync in PostgreSQL, no AOF in Redis.</summary>
    public bool Ephemeral { get; init; }

    /// <summary>Echo every resource's output to the console, prefixed by its name.</summary>
    public bool EchoLogs { get; init; } = true;

    /// <summary>Environment name given to the services (<c>DOTNET_ENVIRONMENT</c>).</summary>
    public string EnvironmentName { get; init; } = "Production";

    /// <summary>Lines kept per resource for <c>GetLogs</c>.</summary>
    public int LogCapacity { get; init; } = 20_000;

    /// <summary>Extra environment per resource name, applied last (tests).</summary>
    public Dictionary<string, Dictionary<string, string>> ExtraEnvironment { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>OTLP settings passed to every service when set (the dashboard's collector).</summary>
    public string? OtlpEndpoint { get; init; }

    public string? OtlpProtocol { get; init; }
}
