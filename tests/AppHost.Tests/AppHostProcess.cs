using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using LlmGateway.AppHost.Hosting;
using LlmGateway.Testing;

namespace LlmGateway.AppHost.Tests;

/// <summary>
/// The AppHost as an operator starts it: <c>dotnet run --project AppHost</c> (its launch profile, DCP, the dashboard),
/// in a session of its own so that a Ctrl+C can be sent to its whole process group as a terminal does. Only the
/// ports and the state folder differ, so it runs beside other tests.
/// </summary>
internal sealed partial class AppHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> _waiters = [];

    private AppHostProcess(Process process, string state, int gatewayPort, int dashboardPort)
    {
        _process = process;
        StateDirectory = state;
        GatewayPort = gatewayPort;
        DashboardPort = dashboardPort;
    }

    public string StateDirectory { get; }

    public int GatewayPort { get; }

    public int DashboardPort { get; }

    /// <summary>The session (and process group) leader: <c>dotnet run</c> itself.</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    public static AppHostProcess Start(string? state = null, IReadOnlyDictionary<string, string>? environment = null, params string[] args)
    {
        state ??= NewStateDirectory();
        var gatewayPort = PortAllocator.Allocate();
        var dashboardPort = PortAllocator.Allocate();
        var info = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppState.RepositoryRoot,
        };
        // A runner started from a non-interactive shell's `... &` hands its children SIGINT ignored, and an ignored
        // signal stays ignored across exec; env puts it back to its default, as a terminal has it.
        string[] command =
        [
            "env", "--default-signal=INT", "dotnet", "run", "--project", "AppHost", "--no-build", "-c", TestAppBuilder.BuildConfiguration, "--",
            "--AppHost:StateDirectory", state,
            "--Ports:gateway", Port(gatewayPort),
            "--Ports:adminui", Port(PortAllocator.Allocate()),
            "--ASPNETCORE_URLS", $"http://localhost:{Port(dashboardPort)}",
            "--ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL", $"http://localhost:{Port(PortAllocator.Allocate())}",
            "--ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL", $"http://localhost:{Port(PortAllocator.Allocate())}",
            .. args,
        ];
        foreach (var part in command)
        {
            info.ArgumentList.Add(part);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info };
        var host = new AppHostProcess(process, state, gatewayPort, dashboardPort);
        process.OutputDataReceived += (_, e) => host.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => host.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    public static string NewStateDirectory()
    {
        var state = Directory.CreateTempSubdirectory("llmgw-runmode-").FullName;
        File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        return state;
    }

    /// <summary>Waits for a line the AppHost prints; fails with its last output if it does not come.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.FirstOrDefault(match) is { } already)
            {
                return already;
            }

            _waiters.Add((match, seen));
        }

        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(seen.Task, exited, Task.Delay(timeout));
        if (first == seen.Task)
        {
            return await seen.Task;
        }

        Assert.Fail($"the AppHost {(first == exited ? "exited" : $"did not print {what} within {timeout.TotalSeconds:0} s")}:\n{Tail()}");
        return "";
    }

    /// <summary>Waits until every resource is healthy (the summary's last line).</summary>
    public Task WaitUntilHealthyAsync() =>
        WaitForLineAsync(l => l.Contains("Press Ctrl+C to stop.", StringComparison.Ordinal), TimeSpan.FromSeconds(150), "that every resource is healthy");

    /// <summary>Sends a signal to the whole process group, as a terminal does for Ctrl+C.</summary>
    public void SignalGroup(int signal) => Assert.Equal(0, Kill(-_process.Id, signal));

    public async Task<bool> WaitForExitAsync(TimeSpan timeout) =>
        await Task.WhenAny(_process.WaitForExitAsync(), Task.Delay(timeout)) is { IsCompletedSuccessfully: true } && _process.HasExited;

    /// <summary>The AppHost process (a child of <c>dotnet run</c>).</summary>
    public int AppHostProcessId => ProcessTree.Children(_process.Id).Single(pid => ProcessTree.Name(pid) == "AppHost");

    /// <summary>
    /// Every process the app runs: DCP (which detaches from the AppHost and watches it by pid) and everything DCP
    /// started, with their children (the services behind their <c>dotnet run</c>, PostgreSQL's backends).
    /// </summary>
    public IReadOnlyList<int> AppProcesses()
    {
        var monitor = $"--monitor {AppHostProcessId.ToString(CultureInfo.InvariantCulture)}";
        var dcp = Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && CommandLine(pid) is { } line && line.Contains("start-apiserver", StringComparison.Ordinal) && line.Contains(monitor, StringComparison.Ordinal))
            .ToList();
        var all = new List<int>(dcp);
        for (var i = 0; i < all.Count; i++)
        {
            all.AddRange(ProcessTree.Children(all[i]));
        }

        return all;
    }

    public static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    public string Tail() => string.Join('\n', Output.TakeLast(60));

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill(-_process.Id, 9);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
            {
                waiter.Seen.TrySetResult(line);
                _waiters.Remove(waiter);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
