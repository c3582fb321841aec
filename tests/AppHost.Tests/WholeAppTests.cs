using System.Diagnostics;
using System.Net;
using LlmGateway.AppHost.Orchestration;
using LlmGateway.AppHost.Testing;

namespace LlmGateway.AppHost.Tests;

public sealed class WholeAppTests
{
    private static readonly string[] Services = ["tokenservice", "usageworker", "gateway", "upstream", "adminui"];

    [Fact]
    public async Task Whole_app_boots_through_the_AppHost_and_every_service_answers_health_and_alive()
    {
        int[] pids;
        await using (var app = await DistributedApplicationTestingBuilder.Create().StartAsync())
        {
            foreach (var service in Services)
            {
                using var http = app.CreateHttpClient(service);
                using var health = await http.GetAsync("/health");
                using var alive = await http.GetAsync("/alive");
                Assert.True(health.StatusCode == HttpStatusCode.OK, $"{service} /health answered {(int)health.StatusCode}");
                Assert.True(alive.StatusCode == HttpStatusCode.OK, $"{service} /alive answered {(int)alive.StatusCode}");
            }

            // Healthy in the orchestrator's view too. Awaited rather than sampled: on a loaded machine one of the
            // periodic probes (3 s timeout) can time out and mark an instance Unhealthy until the next one passes.
            await Task.WhenAll(app.Instances.Select(i => i.WhenHealthy)).WaitAsync(TimeSpan.FromSeconds(60));
            pids = app.Instances.Select(i => i.ProcessId!.Value).ToArray();
            Assert.Equal(7, pids.Length);
        }

        // Stopping the app leaves no redis-server, postgres or service process behind.
        Assert.All(pids, pid => Assert.False(IsRunning(pid), $"process {pid} is still running"));
    }

    [Fact]
    public async Task A_service_that_exits_is_restarted_and_becomes_healthy_again()
    {
        await using var app = await DistributedApplicationTestingBuilder.Create().WithResources("upstream").StartAsync();
        var instance = app.Instances.Single(i => i.Resource.Name == "upstream");
        var first = instance.ProcessId!.Value;

        using (var process = Process.GetProcessById(first))
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        await WaitUntilAsync(() => instance.ProcessId != first && instance.State == ResourceState.Healthy);
        using var http = app.CreateHttpClient("upstream");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        Assert.Contains(app.GetLogs("upstream"), line => line.Contains("restarting", StringComparison.Ordinal));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(100, timeout.Token);
        }
    }

    internal static bool IsRunning(int pid)
    {
        // A zombie (state Z) has exited; only its parent has not reaped it yet.
        var stat = $"/proc/{pid}/stat";
        return File.Exists(stat) && !File.ReadAllText(stat).Split(')')[1].TrimStart().StartsWith('Z');
    }
}
