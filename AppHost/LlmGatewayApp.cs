using LlmGateway.AppHost.Model;
using LlmGateway.Contracts.Credentials;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.AppHost;

/// <summary>
/// The application: every resource, endpoint, reference and wait, stated once. Run mode (<see cref="Orchestration.Orchestrator"/>),
/// the testing entry point and publishers all read this model.
/// </summary>
public static class LlmGatewayApp
{
    public const int DefaultGatewayPort = 8080;
    public const int DefaultAdminUiPort = 8081;

    public static DistributedApplicationModel Build(IConfiguration configuration)
    {
        var model = new DistributedApplicationModel();

        var redis = model.AddRedis("redis");
        var postgres = model.AddPostgres("postgres");
        var database = model.AddDatabase(postgres, "llmgateway");

        var adminKey = model.AddParameter("admin-key", generate: () => CredentialFormat.Generate(CredentialKind.AdminKey));
        var anthropicKey = model.AddParameter("anthropic-api-key");
        var demoMode = IsDemoMode(configuration);

        var tokenService = model.AddProject("tokenservice", "TokenService")
            .WithReference(redis)
            .WithReference(database)
            .WithEnvironment("Admin__BootstrapKey", adminKey);

        var usageWorker = model.AddProject("usageworker", "UsageWorker")
            .WithReference(redis)
            .WithReference(database)
            .WithReference(tokenService)
            .WithEnvironment("Admin__BootstrapKey", adminKey);

        var gateway = model.AddProject("gateway", "Gateway")
            .WithExternalHttpEndpoint(configuration.GetValue("Ports:gateway", DefaultGatewayPort))
            .WithReference(redis)
            .WithReference(tokenService)
            .WithReference(usageWorker)
            // Usage events wait here while Redis is down; the folder belongs to this app's state, so an aborted run's
            // leftovers are replayed into the same Redis on the next start, never into another app's.
            .WithEnvironment("Gateway__Usage__SpoolDirectory", ctx => ctx.DataDirectory("gateway-spool"));

        if (demoMode)
        {
            // No real key: the simulator stands in for Anthropic, with a key of its own so the Gateway's
            // "send the real key upstream" path is exercised exactly as in production.
            var simulatorKey = model.AddParameter("simulator-api-key", generate: () => "sk-ant-sim-" + PasswordGenerator.Generate(32, special: false));
            var upstream = model.AddProject("upstream", "UpstreamSimulator")
                .WithEnvironment("Simulator__ExpectedApiKey", simulatorKey);
            gateway.WithReference(upstream)
                .WithEnvironment("Upstream__BaseUrl", "http://upstream")
                .WithEnvironment("Upstream__ApiKey", simulatorKey);
        }
        else
        {
            gateway.WithEnvironment("Upstream__BaseUrl", configuration["Upstream:BaseUrl"] ?? "https://api.anthropic.com")
                .WithEnvironment("Upstream__ApiKey", anthropicKey);
        }

        model.AddProject("adminui", "AdminUi")
            .WithExternalHttpEndpoint(configuration.GetValue("Ports:adminui", DefaultAdminUiPort))
            .WithReference(gateway)
            .WithReference(tokenService)
            .WithReference(usageWorker)
            .WithEnvironment("Admin__BootstrapKey", adminKey);

        return model;
    }

    /// <summary>Without an upstream key the app runs against the built-in simulator.</summary>
    public static bool IsDemoMode(IConfiguration configuration) =>
        string.IsNullOrWhiteSpace(configuration["Parameters:anthropic-api-key"]);
}
