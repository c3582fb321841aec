using LlmGateway.Gateway.Extensions;

namespace LlmGateway.Gateway;

/// <summary>Builds the gateway application; <c>Program</c> runs it, tests host it in-process.</summary>
internal static class GatewayApplication
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddGatewayServices();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapGateway();
        return app;
    }
}
