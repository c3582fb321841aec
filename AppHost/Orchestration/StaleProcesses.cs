namespace LlmGateway.AppHost.Orchestration;

/// <summary>
/// Pid files under <c>{state}/pids</c>. If an earlier AppHost was killed without cleaning up, its children are
/// found here and stopped before their replacements start (they would hold the ports and data directories).
/// </summary>
public sealed class StaleProcesses(string stateDirectory)
{
    private readonly string _directory = Path.Combine(stateDirectory, "pids");

    public void Record(string instanceName, int pid)
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(PathOf(instanceName), pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Forget(string instanceName) => File.Delete(PathOf(instanceName));

    /// <summary>Kills the process recorded for this instance if it still runs <paramref name="executableHint"/>.</summary>
    public async Task KillLeftoverAsync(string instanceName, string executableHint, Action<string> log)
    {
        var path = PathOf(instanceName);
        if (!File.Exists(path) || !int.TryParse(await File.ReadAllTextAsync(path).ConfigureAwait(false), out var pid))
        {
            return;
        }

        var cmdline = $"/proc/{pid}/cmdline";
        if (File.Exists(cmdline) && (await File.ReadAllTextAsync(cmdline).ConfigureAwait(false)).Contains(executableHint, StringComparison.Ordinal))
        {
            log($"stopping leftover process {pid} from an earlier run");
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (ArgumentException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }

        File.Delete(path);
    }

    private string PathOf(string instanceName) => Path.Combine(_directory, instanceName + ".pid");
}
