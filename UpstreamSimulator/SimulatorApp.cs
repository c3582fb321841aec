using LlmGateway.UpstreamSimulator.Apis;
using LlmGateway.UpstreamSimulator.OAuth;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace LlmGateway.UpstreamSimulator;

/// <summary>
/// Builds the upstream simulator: an Anthropic Messages / OpenAI Chat Completions look-alike with deterministic
/// replies and fault injection, for demo mode, tests and benchmarks (see README.md and <see cref="SimulatorHeaders"/>).
/// Tests host it in-process (<c>--urls http://127.0.0.1:0</c>); the AppHost runs it as a process through Program.cs.
/// </summary>
public static class SimulatorApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.AddServiceDefaults();

        // Benchmarks compare per-request CPU against the gateway: no per-request logging from the framework.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        builder.Services.AddOptions<SimulatorOptions>().BindConfiguration(SimulatorOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SimulatorOptions>, SimulatorOptionsValidator>();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<SimulatorOptions>>((kestrel, simulator) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = simulator.Value.MaxRequestBodyBytes;
        });
        builder.Services.AddSingleton<SimulatorState>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<OAuthServer>();

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapAnthropicApi();
        app.MapOpenAiApi();
        app.MapModelsApi();
        app.MapSimulatorControlApi();
        app.MapOAuthApi();
        app.MapNotFoundFallback();
        return app;
    }

    private sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorOptions>
    {
        public ValidateOptionsResult Validate(string? name, SimulatorOptions options) =>
            options.IsValid(out var error) ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(error!);
    }
}
