using System.Diagnostics;
using System.Text.Json;
using LlmGateway.Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LlmGateway.Gateway.Tests.Integration;

/// <summary>
/// The Claude Code CLI (npm <c>@anthropic-ai/claude-code</c>, pinned) run headless through the gateway in front of
/// the demo simulator, with its default model and settings: only the base URL and the key are changed. It sends what
/// today's CLI sends (system prompt blocks, tools, a system-role message, betas), so this is the test that the
/// gateway and the simulator accept it.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class ClaudeCodeCliTests(AppFixture app, ITestOutputHelper output)
{
    private const string Version = "2.1.332";

    [Fact]
    public async Task Claude_codes_default_headless_run_succeeds_through_the_gateway_and_is_metered()
    {
        var cli = await InstallAsync();
        var (secret, projection) = await app.CreateCredentialAsync();
        var home = Directory.CreateTempSubdirectory("claude-home-").FullName;
        try
        {
            var start = new ProcessStartInfo(cli)
            {
                ArgumentList = { "-p", "Say hello", "--output-format", "json" },
                WorkingDirectory = home,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["HOME"] = home;
            start.Environment["ANTHROPIC_BASE_URL"] = app.Gateway.ToString().TrimEnd('/');
            start.Environment["ANTHROPIC_API_KEY"] = secret;
            start.Environment.Remove("ANTHROPIC_AUTH_TOKEN");
            start.Environment["DISABLE_AUTOUPDATER"] = "1";
            start.Environment["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await process.WaitForExitAsync(timeout.Token);
            var text = await stdout;
            output.WriteLine(text.Length > 2000 ? text[..2000] : text);
            Assert.True(process.ExitCode == 0, $"claude exited {process.ExitCode}: {await stderr}\n{text}");

            using var result = JsonDocument.Parse(text);
            Assert.False(result.RootElement.GetProperty("is_error").GetBoolean(), text);
            Assert.Equal("success", result.RootElement.GetProperty("subtype").GetString());
            Assert.False(string.IsNullOrWhiteSpace(result.RootElement.GetProperty("result").GetString()));

            // Every call it made was authenticated, forwarded and metered under the key.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            IReadOnlyList<IReadOnlyDictionary<string, string>> events;
            while ((events = (await UsageStream.ReadAllAsync(app.Redis)).Where(e => e.GetValueOrDefault("credential_id") == projection.Id).ToList()).Count == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "no usage event for the CLI's requests");
                await Task.Delay(100);
            }

            Assert.All(events, e => Assert.Equal("200", e["status"]));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>The pinned CLI, installed once per machine into the temp folder (npm, as a user would).</summary>
    private static async Task<string> InstallAsync()
    {
        var prefix = Path.Combine(Path.GetTempPath(), "llmgateway-claude-code-" + Version);
        var cli = Path.Combine(prefix, "node_modules", ".bin", "claude");
        if (File.Exists(cli))
        {
            return cli;
        }

        var start = new ProcessStartInfo("npm")
        {
            ArgumentList = { "install", "--prefix", prefix, "--no-audit", "--no-fund", "@anthropic-ai/claude-code@" + Version },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var npm = Process.Start(start)!;
        var error = npm.StandardError.ReadToEndAsync();
        _ = npm.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await npm.WaitForExitAsync(timeout.Token);
        Assert.True(npm.ExitCode == 0 && File.Exists(cli), $"npm install failed ({npm.ExitCode}): {await error}");
        return cli;
    }
}
