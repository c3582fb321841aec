using System.Reflection;

namespace LlmGateway.AppHost;

/// <summary>Facts recorded at build time: where the repository is and which configuration built the services.</summary>
public static class BuildInfo
{
    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    public static string Configuration { get; } = Metadata("Configuration");

    private static string Metadata(string key) =>
        typeof(BuildInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} is missing.");
}
