using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmGateway.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace LlmGateway.AppHost.Tests;

/// <summary>The real AppHost as <c>dotnet run --project AppHost</c> starts it: DCP, the dashboard, the console.</summary>
public sealed class RunModeTests(ITestOutputHelper log)
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private void Step(string what) => log.WriteLine($"{_clock.Elapsed.TotalSeconds,6:0.0}s {what}");

    private static readonly string[] Resources = ["redis", "postgres", "llmgateway", "tokenservice", "usageworker", "gateway", "upstream", "upstream-openai", "adminui"];

    [Fact]
    public async Task Run_mode_brings_everything_up_shows_it_on_the_dashboard_and_Ctrl_C_leaves_no_process()
    {
        await using var apphost = AppHostProcess.Start();
        Step("healthy");
        await apphost.WaitUntilHealthyAsync();
        var output = apphost.Output;
        Assert.Contains(output, l => l.Contains("DEMO MODE", StringComparison.Ordinal));
        Assert.Contains(output, l => l.Contains($"http://localhost:{apphost.GatewayPort}", StringComparison.Ordinal) && l.Contains("Healthy", StringComparison.Ordinal));
        Assert.All(Resources, r => Assert.Contains(output, l => l.TrimStart().StartsWith(r + " ", StringComparison.Ordinal) && l.Contains("Healthy", StringComparison.Ordinal)));
        Assert.Contains(output, l => l.Contains("admin key: generated and stored in", StringComparison.Ordinal));

        // The README's first steps: the admin key from the state folder creates an API key, which calls the model.
        using var gateway = new HttpClient { BaseAddress = new Uri($"http://localhost:{apphost.GatewayPort}") };
        var key = await CreateApiKeyAsync(gateway, apphost.StateDirectory);
        using (var message = new HttpRequestMessage(HttpMethod.Post, "/v1/messages"))
        {
            message.Headers.Add("x-api-key", key);
            message.Headers.Add("anthropic-version", "2023-06-01");
            message.Content = JsonContent.Create(new { model = "claude-sonnet-4-5", max_tokens = 16, messages = new[] { new { role = "user", content = "hello" } } });
            using var reply = await gateway.SendAsync(message);
            Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        }

        Step("api key used");
        // A second AppHost in the same checkout refuses instead of starting a second Redis on the same files.
        await using (var second = AppHostProcess.Start(apphost.StateDirectory))
        {
            Assert.True(await second.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the second AppHost did not stop:\n" + second.Tail());
            Assert.NotEqual(0, second.ExitCode);
            Assert.Contains(second.Output, l => l.Contains("Another AppHost is running", StringComparison.Ordinal));
        }

        using (var health = await gateway.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        Step("second refused");
        await DashboardShowsEveryResourceRunningAndAGatewayTraceAsync(apphost);

        Step("dashboard done");
        var processes = apphost.AppProcesses();
        Assert.True(processes.Count >= 9, $"expected DCP and every resource's process, found {processes.Count}");
        apphost.SignalGroup(2); // SIGINT, as Ctrl+C in the terminal
        Assert.True(await apphost.WaitForExitAsync(TimeSpan.FromSeconds(90)), "the AppHost did not stop within 90 s:\n" + apphost.Tail());
        Assert.Equal(0, apphost.ExitCode);
        Step("exited");
        await AssertAllGoneAsync(processes);
    }

    [Fact]
    public async Task Killing_the_AppHost_leaves_no_process_and_the_upstream_key_reaches_only_the_gateway()
    {
        var secret = "sk-ant-test-" + Guid.NewGuid().ToString("N");
        await using var apphost = AppHostProcess.Start(
            environment: new Dictionary<string, string> { ["Parameters__anthropic-api-key"] = secret },
            args: ["--Upstream:BaseUrl", "http://127.0.0.1:9"]);
        await apphost.WaitUntilHealthyAsync();
        Assert.DoesNotContain(apphost.Output, l => l.Contains("DEMO MODE", StringComparison.Ordinal));
        Assert.DoesNotContain(apphost.Output, l => l.Contains(secret, StringComparison.Ordinal));

        var processes = apphost.AppProcesses();
        var holders = processes.Where(pid => Environ(pid).Contains(secret, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(holders);
        Assert.All(holders, pid => Assert.Contains("Gateway", AppHostProcess.CommandLine(pid) ?? "", StringComparison.Ordinal));
        Assert.Contains(processes, pid => ProcessTree.Name(pid) == "redis-server");
        Assert.Contains(processes, pid => ProcessTree.Name(pid) == "postgres");

        // As if the AppHost crashed: DCP notices and stops everything it started.
        using (var host = System.Diagnostics.Process.GetProcessById(apphost.AppHostProcessId))
        {
            host.Kill();
        }

        await AssertAllGoneAsync(processes);
    }

    [Fact]
    public void Generated_parameters_are_kept_in_the_state_folder_and_one_AppHost_owns_it()
    {
        var state = AppHostProcess.NewStateDirectory();
        try
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection([new("AppHost:StateDirectory", state)]).Build();
            string first;
            using (var owner = Hosting.AppState.Open(configuration))
            {
                first = owner.GetOrCreate("redis-password", () => "generated-once");
                Assert.Equal(first, owner.GetOrCreate("redis-password", () => "generated-twice"));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(owner.ParametersFile));
                var refused = Assert.Throws<Hosting.StateInUseException>(() => Hosting.AppState.Open(configuration));
                Assert.Contains(state, refused.Message, StringComparison.Ordinal);
            }

            using var next = Hosting.AppState.Open(configuration);
            Assert.Equal("generated-once", next.GetOrCreate("redis-password", () => "generated-again"));
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task DashboardShowsEveryResourceRunningAndAGatewayTraceAsync(AppHostProcess apphost)
    {
        var login = await apphost.WaitForLineAsync(l => l.Contains("/login?t=", StringComparison.Ordinal), TimeSpan.FromSeconds(5), "the dashboard's login URL");
        var url = login[login.IndexOf("http://", StringComparison.Ordinal)..].Trim();
        var screenshots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(Browsers.Chromium);
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1600, Height = 1000 } });
        var console = new List<string>();
        page.Console += (_, message) => console.Add($"{message.Type}: {message.Text}");
        await page.GotoAsync(url);

        // The dashboard is a Blazor Server app: when its circuit drops (a slow first render on a busy 2-core machine),
        // the page says "An unhandled error has occurred" and offers Reload, which is what an operator would do.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                foreach (var resource in Resources.Where(r => r != "llmgateway"))
                {
                    var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = resource });
                    await Assertions.Expect(row.First).ToContainTextAsync("Running", new() { Timeout = 30_000 });
                }

                break;
            }
            catch (PlaywrightException) when (attempt < 3)
            {
                Console.WriteLine($"dashboard attempt {attempt} failed; reloading. Browser console:\n{string.Join('\n', console)}");
                await page.GotoAsync($"http://localhost:{apphost.DashboardPort}/");
            }
            catch (PlaywrightException failure)
            {
                throw new Xunit.Sdk.XunitException(
                    $"{failure.Message}\nBrowser console:\n{string.Join('\n', console)}\nAppHost output:\n{apphost.Tail()}");
            }
        }

        await page.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "dashboard-resources.png"), FullPage = true });

        // Traces arrive over OTLP in batches and the page shows them as they come.
        await page.GotoAsync($"http://localhost:{apphost.DashboardPort}/traces");
        var gatewayTraces = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "gateway: POST /v1/messages" });
        await Assertions.Expect(gatewayTraces.First).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await page.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "dashboard-traces.png"), FullPage = true });
    }

    private static async Task<string> CreateApiKeyAsync(HttpClient gateway, string stateDirectory)
    {
        var parameters = JsonSerializer.Deserialize<Dictionary<string, string>>(await File.ReadAllTextAsync(Path.Combine(stateDirectory, "parameters.json")))!;
        using var create = new HttpRequestMessage(HttpMethod.Post, "/admin/credentials")
        {
            Content = JsonContent.Create(new JsonObject
            {
                ["name"] = "run-mode-test",
                ["owner"] = new JsonObject { ["type"] = "organization", ["id"] = "run-mode-test" },
            }),
        };
        create.Headers.Add("x-api-key", parameters["admin-key"]);
        using var created = await gateway.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
    }

    private static async Task AssertAllGoneAsync(IReadOnlyList<int> processes)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (processes.Any(ProcessTree.IsRunning) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        Assert.All(processes, pid => Assert.False(ProcessTree.IsRunning(pid), $"process {pid} ({AppHostProcess.CommandLine(pid)}) outlived the AppHost"));
    }

    private static string Environ(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ");
        }
        catch (IOException)
        {
            return "";
        }
    }
}
