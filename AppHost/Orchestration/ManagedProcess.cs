using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LlmGateway.AppHost.Orchestration;

/// <summary>One child process: output captured line by line into a <see cref="ResourceLog"/>; stopped gracefully.</summary>
public sealed partial class ManagedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ManagedProcess(Process process) => _process = process;

    public int Id => _process.Id;

    /// <summary>Completes with the exit code when the process ends.</summary>
    public Task<int> Exited => _exited.Task;

    public static ManagedProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        IReadOnlyDictionary<string, string?> environment,
        ResourceLog log)
    {
        // A session of its own: a terminal's Ctrl+C (sent to the whole foreground process group) must reach only the
        // AppHost, which then stops everything in order (services before the databases they use). setsid execs.
        var detach = File.Exists(SetsidPath);
        var info = new ProcessStartInfo(detach ? SetsidPath : fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (detach)
        {
            info.ArgumentList.Add(fileName);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var managed = new ManagedProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Write(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Write(e.Data); } };
        process.Exited += (_, _) =>
        {
            // Let the output readers drain before reporting the exit.
            process.WaitForExit();
            managed._exited.TrySetResult(process.ExitCode);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    /// <summary>
    /// Sends <paramref name="signal"/> (SIGTERM by default), then SIGKILL to the whole tree if it has not exited
    /// within <paramref name="grace"/>.
    /// </summary>
    public async Task StopAsync(TimeSpan grace, int signal = SigTerm)
    {
        if (_exited.Task.IsCompleted)
        {
            return;
        }

        try
        {
            if (OperatingSystem.IsWindows())
            {
                _process.Kill(entireProcessTree: true);
            }
            else
            {
                _ = Kill(_process.Id, signal);
            }

            await _exited.Task.WaitAsync(grace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            KillTree();
            await _exited.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public void KillTree()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _process.Dispose();
    }

    private const string SetsidPath = "/usr/bin/setsid";

    public const int SigTerm = 15;
    public const int SigInt = 2;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();

    public static bool IsRoot => !OperatingSystem.IsWindows() && GetEffectiveUserId() == 0;
}
