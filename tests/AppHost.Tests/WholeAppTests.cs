using System.Diagnostics;
using System.Net;
using Aspire.Hosting.ApplicationModel;
using LlmGateway.Testing;

namespace LlmGateway.AppHost.Tests;

public sealed class WholeAppTests
{
    private static readonly string[] Services = ["tokenservice", "usageworker", "gateway", "upstream", "adminui"];

    [Fact]
    public async Task Whole_app_boots_through_the_AppHost_and_every_service_answers_health_and_alive()
    {
        List<int> pids;
        await using (var app = await TestAppBuilder.Create().StartAsync())
        {
            foreach (var service in Services)
            {
                using var http = app.CreateHttpClient(service);
                using var health = await http.GetAsync("/health");
                using var alive = await http.GetAsync("/alive");
                Assert.True(health.StatusCode == HttpStatusCode.OK, $"{service} /health answered {(int)health.StatusCode}");
                Assert.True(alive.StatusCode == HttpStatusCode.OK, $"{service} /alive answered {(int)alive.StatusCode}");
            }

            pids = [.. Services.Concat(["redis", "postgres"]).SelectMany(app.ProcessIds)];
            Assert.Equal(7, pids.Count);
            Assert.All(pids, pid => Assert.True(ProcessTree.IsRunning(pid), $"process {pid} is not running"));
        }

        // Stopping the app leaves no redis-server, postgres or service process behind.
        Assert.All(pids, pid => Assert.False(ProcessTree.IsRunning(pid), $"process {pid} is still running"));
    }

    [Fact]
    public async Task A_service_that_crashes_is_restarted_and_becomes_healthy_again()
    {
        await using var app = await TestAppBuilder.Create().WithResources("upstream").StartAsync();
        var first = app.ProcessIds("upstream").Single();

        using (var process = Process.GetProcessById(first))
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await app.Notifications.WaitForResourceAsync("upstream",
            e => e.Snapshot.State?.Text == KnownResourceStates.Running && e.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy
                && app.ProcessIds("upstream").SingleOrDefault() is var pid && pid != first && pid != 0,
            timeout.Token);
        using var http = app.CreateHttpClient("upstream");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        Assert.Contains(app.GetLogs("upstream"), line => line.Contains("restarting", StringComparison.Ordinal));
    }
}
