using System.Diagnostics;

namespace LlmGateway.AppHost.Orchestration;

/// <summary>
/// Locates the Redis and PostgreSQL server binaries from the Debian packages. When they are missing it installs them
/// (as root, with apt-get, saying so), or stops with the exact command to run.
/// </summary>
public static class Prerequisites
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    public const string InstallCommand = "sudo apt-get update && sudo apt-get install -y redis-server postgresql";

    public static async Task<string> RedisServerAsync(Action<string> progress, CancellationToken ct)
    {
        return Find() ?? await InstallThenAsync(progress, Find, "redis-server", ct).ConfigureAwait(false);

        static string? Find() => new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
    }

    /// <summary>The directory holding <c>initdb</c> and <c>postgres</c> of the newest installed PostgreSQL.</summary>
    public static async Task<string> PostgresBinDirectoryAsync(Action<string> progress, CancellationToken ct)
    {
        return Find() ?? await InstallThenAsync(progress, Find, "postgresql", ct).ConfigureAwait(false);

        static string? Find()
        {
            const string root = "/usr/lib/postgresql";
            if (!Directory.Exists(root))
            {
                return null;
            }

            return Directory.GetDirectories(root)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(x => File.Exists(Path.Combine(x.Dir, "postgres")) && File.Exists(Path.Combine(x.Dir, "initdb")))
                .OrderByDescending(x => x.Version)
                .Select(x => x.Dir)
                .FirstOrDefault();
        }
    }

    private static async Task<string> InstallThenAsync(Action<string> progress, Func<string?> find, string what, CancellationToken ct)
    {
        await InstallGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (find() is { } found)
            {
                return found;
            }

            if (!ManagedProcess.IsRoot || !File.Exists("/usr/bin/apt-get"))
            {
                throw new PrerequisiteMissingException(
                    $"{what} is not installed. Install Redis and PostgreSQL once with:\n    {InstallCommand}\nthen run again.");
            }

            progress($"{what} is not installed: installing redis-server and postgresql with apt-get (one time, about a minute)...");
            await RunAsync("apt-get", ["update", "-qq"], progress, ct).ConfigureAwait(false);
            await RunAsync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "redis-server", "postgresql"], progress, ct).ConfigureAwait(false);
            return find() ?? throw new PrerequisiteMissingException($"apt-get finished but {what} was not found. Run: {InstallCommand}");
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static async Task RunAsync(string file, string[] args, Action<string> progress, CancellationToken ct)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            progress((await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
            throw new PrerequisiteMissingException($"'{file} {string.Join(' ', args)}' failed with exit code {process.ExitCode}. Run: {InstallCommand}");
        }
    }
}

public sealed class PrerequisiteMissingException(string message) : Exception(message);
