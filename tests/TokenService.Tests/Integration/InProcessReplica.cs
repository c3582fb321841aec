using LlmGateway.Contracts;
using LlmGateway.TokenService.Extensions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlmGateway.TokenService.Tests.Integration;

/// <summary>
/// TokenService built as Program.cs builds it, on a free port of 127.0.0.1, with the AppHost replica's database, Redis
/// and keys: a second replica, or one with other settings (<paramref name="settings"/>), without starting another app.
/// </summary>
internal sealed class InProcessReplica(WebApplication app) : IAsyncDisposable
{
    public HttpClient Http { get; } = new() { BaseAddress = new Uri(app.Urls.First()) };

    public IServiceProvider Services => app.Services;

    public static async Task<InProcessReplica> StartAsync(TokenServiceApp service, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(TokenServiceExtensions).Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = await service.App.GetConnectionStringAsync("redis"),
            ["ConnectionStrings:llmgateway"] = service.PostgresConnectionString,
            ["Admin:BootstrapKey"] = service.AdminKey,
            [InternalApi.ConfigurationKey] = service.InternalKey,
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddServiceDefaults();
        builder.AddTokenServiceServices();

        var app = builder.Build();
        app.UseTokenServiceConventions();
        app.MapDefaultEndpoints();
        app.MapTokenServiceApis();
        await app.StartAsync();
        return new InProcessReplica(app);
    }

    public Task<HealthReport> HealthAsync() => Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
