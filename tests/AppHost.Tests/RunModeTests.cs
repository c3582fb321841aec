using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using LlmGateway.AppHost.Model;
using LlmGateway.AppHost.Orchestration;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.AppHost.Tests;

/// <summary>The real <c>AppHost</c> executable, as <c>dotnet run --project AppHost</c> starts it.</summary>
public sealed partial class RunModeTests
{
    [Fact]
    public async Task AppHost_brings_everything_up_prints_the_table_and_stops_everything_on_SIGINT()
    {
        var state = Directory.CreateTempSubdirectory("llmgw-runmode-").FullName;
        File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        // Reserved the way the AppHost reserves its own ports: nothing else picks them before the AppHost binds them.
        var gatewayPort = PortAllocator.Allocate();
        var adminPort = PortAllocator.Allocate();
        var info = new ProcessStartInfo(SigIntIgnored() ? "env" : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (SigIntIgnored())
        {
            // A runner started from a non-interactive shell's `... &` hands its children SIGINT ignored, and an
            // ignored signal stays ignored across exec, so the AppHost would never see the Ctrl+C this test sends.
            // Start it with SIGINT back at its default, as a terminal does (env execs dotnet: same process).
            info.ArgumentList.Add("--default-signal=INT");
            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AppHost.dll"));
        info.ArgumentList.Add("--AppHost:StateDirectory");
        info.ArgumentList.Add(state);
        info.ArgumentList.Add("--Ports:gateway");
        info.ArgumentList.Add(gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--Ports:adminui");
        info.ArgumentList.Add(adminPort.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var output = new List<string>();
        var healthy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var apphost = new Process { StartInfo = info };
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.Add(line);
            }

            // The last line the AppHost prints once everything is healthy: the table and the admin-key hint come before it
            // (on the same stream, so they have been read by the time this one is).
            if (line.Contains("Press Ctrl+C to stop.", StringComparison.Ordinal))
            {
                healthy.TrySetResult();
            }
        }

        apphost.OutputDataReceived += (_, e) => OnLine(e.Data);
        apphost.ErrorDataReceived += (_, e) => OnLine(e.Data);
        apphost.Start();
        apphost.BeginOutputReadLine();
        apphost.BeginErrorReadLine();
        try
        {
            if (await Task.WhenAny(healthy.Task, Task.Delay(TimeSpan.FromSeconds(90))) != healthy.Task)
            {
                Assert.Fail("the AppHost did not report every resource healthy within 90 s:\n" + Tail(output));
            }

            using var http = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://localhost:{gatewayPort}/health")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://localhost:{adminPort}/alive")).StatusCode);

            var pids = Directory.GetFiles(Path.Combine(state, "pids")).Select(f => int.Parse(File.ReadAllText(f), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(7, pids.Length);
            string[] snapshot;
            lock (output)
            {
                snapshot = [.. output];
            }

            Assert.Contains(snapshot, l => l.StartsWith("[gateway] ", StringComparison.Ordinal));
            Assert.Contains(snapshot, l => l.Contains("DEMO MODE", StringComparison.Ordinal));
            Assert.Contains(snapshot, l => l.Contains("every resource is healthy", StringComparison.Ordinal));
            Assert.Contains(snapshot, l => l.Contains($"http://localhost:{gatewayPort}", StringComparison.Ordinal) && l.Contains("Healthy", StringComparison.Ordinal));

            // A bound, not a measurement: each service gets 4 s to stop gracefully before it is killed, then Redis and
            // PostgreSQL theirs, so a loaded machine may legitimately need well over 10 s.
            var stopLimit = TimeSpan.FromSeconds(30);
            Assert.Equal(0, Kill(apphost.Id, 2)); // SIGINT, as Ctrl+C
            var exited = await Task.WhenAny(apphost.WaitForExitAsync(), Task.Delay(stopLimit)) is { IsCompletedSuccessfully: true } && apphost.HasExited;
            Assert.True(exited, $"the AppHost did not stop within {stopLimit.TotalSeconds:0} s:\n" + Tail(output));
            Assert.Equal(0, apphost.ExitCode);
            Assert.All(pids, pid => Assert.False(WholeAppTests.IsRunning(pid), $"process {pid} outlived the AppHost"));
        }
        finally
        {
            if (!apphost.HasExited)
            {
                apphost.Kill(entireProcessTree: true);
            }

            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public void Generated_parameters_are_persisted_and_configuration_wins()
    {
        var state = Directory.CreateTempSubdirectory("llmgw-params-").FullName;
        try
        {
            var empty = new ConfigurationBuilder().Build();
            var parameter = new ParameterResource("redis-password", secret: true, () => PasswordGenerator.Generate(22, special: false));
            var first = new ParameterStore(empty, state).Get(parameter);
            var again = new ParameterStore(empty, state).Get(parameter);
            Assert.Equal(first, again);
            Assert.Equal(22, first!.Length);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(state, "parameters.json")));

            var configured = new ConfigurationBuilder().AddInMemoryCollection([new("Parameters:redis-password", "chosen")]).Build();
            Assert.Equal("chosen", new ParameterStore(configured, state).Get(parameter));
            Assert.Null(new ParameterStore(empty, state).Get(new ParameterResource("anthropic-api-key", secret: true, generate: null)));
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static string Tail(List<string> output)
    {
        lock (output)
        {
            return string.Join('\n', output.TakeLast(60));
        }
    }

    /// <summary>Whether this process has SIGINT ignored (bit 2 of SigIgn in /proc/self/status), which its children inherit.</summary>
    private static bool SigIntIgnored()
    {
        var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        var ignored = ulong.Parse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        return (ignored & (1UL << (2 - 1))) != 0;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
