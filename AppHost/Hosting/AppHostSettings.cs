using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.AppHost.Hosting;

/// <summary>The AppHost's own settings (configuration keys, defaults) and the few rules derived from them.</summary>
public static class AppHostSettings
{
    /// <summary>false for throw-away apps (tests): Redis and PostgreSQL skip fsync.</summary>
    public const string Durable = "AppHost:Durable";

    public const string AnthropicApiKey = "Parameters:anthropic-api-key";

    /// <summary>Without an upstream key the app runs against the built-in simulator (run mode only).</summary>
    public static bool IsDemoMode(IDistributedApplicationBuilder builder) =>
        builder.ExecutionContext.IsRunMode && string.IsNullOrWhiteSpace(builder.Configuration[AnthropicApiKey]);

    /// <summary>A public endpoint's port: <c>Ports:{name}</c>, else the documented default.</summary>
    public static int PublicPort(IDistributedApplicationBuilder builder, string name, int defaultPort) =>
        builder.Configuration.GetValue($"Ports:{name}", defaultPort);

    /// <summary>
    /// A local server's port: <c>Ports:{name}</c>, else a free one. These endpoints are not proxied (the hot path
    /// talks to Redis directly), so the port is chosen here rather than by DCP.
    /// </summary>
    public static int Port(IDistributedApplicationBuilder builder, string name) =>
        builder.Configuration.GetValue<int?>($"Ports:{name}") ?? PortAllocator.Allocate();

    /// <summary>A password like Aspire's generated ones, without characters that need quoting in a connection string.</summary>
    public static string GeneratePassword() => PasswordDefault.GetDefaultValue();

    private static GenerateParameterDefault PasswordDefault => new() { MinLength = 22, Special = false };

    /// <summary>
    /// A secret parameter. Run mode: configuration <c>Parameters:{name}</c>, else generated once and kept in the state
    /// folder. Publish mode: Aspire's generated input when <paramref name="publishGenerated"/>, else one the deployer
    /// supplies.
    /// </summary>
    public static IResourceBuilder<ParameterResource> AddSecret(
        this IDistributedApplicationBuilder builder, string name, AppState? state, Func<string> generate, bool publishGenerated = true)
    {
        if (state is not null)
        {
            return builder.AddParameter(name, new StoredParameterDefault(state, name, generate), secret: true);
        }

        return publishGenerated
            ? builder.AddParameter(name, PasswordDefault, secret: true)
            : builder.AddParameter(name, secret: true);
    }
}
