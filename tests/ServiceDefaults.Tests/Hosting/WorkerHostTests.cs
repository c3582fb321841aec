using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace LlmGateway.ServiceDefaults.Tests.Hosting;

public sealed class WorkerHostTests
{
    [Fact]
    public async Task A_worker_without_a_web_server_takes_the_defaults_too()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ApplicationName = "TestWorker" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["services:tokenservice:http:0"] = "http://127.0.0.1:5123" });
        builder.AddServiceDefaults();
        using var host = builder.Build();

        await host.StartAsync();
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("live"));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("tokens");
        await host.StopAsync();

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Contains("self", report.Entries.Keys);
        Assert.Equal(Timeout.InfiniteTimeSpan, client.Timeout);
    }
}
