using LlmGateway.AppHost.Orchestration;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.AppHost;

/// <summary><c>dotnet run --project AppHost</c>: start the whole app, print where it is, run until Ctrl+C.</summary>
public static class AppHostRunner
{
    public static async Task<int> RunAsync(IConfiguration configuration, CancellationToken stop)
    {
        var model = LlmGatewayApp.Build(configuration);
        var options = new AppHostOptions
        {
            RepositoryRoot = BuildInfo.RepositoryRoot,
            BuildConfiguration = BuildInfo.Configuration,
            StateDirectory = configuration["AppHost:StateDirectory"] ?? Path.Combine(BuildInfo.RepositoryRoot, ".state"),
            EnvironmentName = configuration["DOTNET_ENVIRONMENT"] ?? configuration["ASPNETCORE_ENVIRONMENT"] ?? "Production",
            OtlpEndpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"],
            OtlpProtocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"],
        };

        await using var orchestrator = new Orchestrator(model, options, configuration);
        var log = orchestrator.HostLog;
        if (LlmGatewayApp.IsDemoMode(configuration))
        {
            log.Write("DEMO MODE: no anthropic-api-key parameter is set, so the gateway forwards to the built-in upstream simulator, not to Anthropic.");
            log.Write("           Set Parameters__anthropic-api-key=sk-ant-... to use the real API.");
        }

        var started = DateTime.UtcNow;
        try
        {
            await orchestrator.StartAsync(null, TimeSpan.FromSeconds(configuration.GetValue("AppHost:StartTimeoutSeconds", 120)), stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        catch (Exception ex) when (ex is TimeoutException or PrerequisiteMissingException)
        {
            log.Write(ex.Message);
            return 1;
        }

        log.Write($"every resource is healthy ({(DateTime.UtcNow - started).TotalSeconds:0.0}s):");
        Console.Write(orchestrator.DescribeResources());
        var admin = model.Get("admin-key") as Model.ParameterResource;
        log.Write(orchestrator.Context.Parameters.IsFromConfiguration(admin!)
            ? "admin key: the value of Parameters:admin-key you configured"
            : $"admin key: generated and stored in {orchestrator.Context.Parameters.FilePath} (\"admin-key\"); set Parameters__admin-key to choose your own");
        log.Write("Press Ctrl+C to stop.");

        try
        {
            await Task.Delay(Timeout.Infinite, stop);
        }
        catch (OperationCanceledException)
        {
        }

        var stopping = DateTime.UtcNow;
        await orchestrator.StopAsync();
        log.Write($"stopped every resource in {(DateTime.UtcNow - stopping).TotalSeconds:0.0}s");
        return 0;
    }
}
