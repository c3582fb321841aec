using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace LlmGateway.AppHost.Hosting;

/// <summary>
/// The Redis and PostgreSQL server binaries from the Debian packages, which run mode starts as local processes.
/// When they are missing the AppHost installs them (as root, with apt-get, saying so) or stops with the exact command.
/// </summary>
public static class LocalBinaries
{
    public const string InstallCommand = "sudo apt-get update && sudo apt-get install -y redis-server postgresql";

    private const string PostgresRoot = "/usr/lib/postgresql";

    public static bool IsRoot => Environment.UserName == "root";

    public static string? RedisServer() =>
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);

    /// <summary>The directory holding <c>initdb</c> and <c>postgres</c> of the newest installed PostgreSQL.</summary>
    public static string PostgresBinDirectory() =>
        FindPostgres() ?? throw new PrerequisiteMissingException($"PostgreSQL is not installed. Install it with:\n    {InstallCommand}");

    /// <summary>Installs what is missing, as root with apt-get; otherwise throws with the command to run.</summary>
    public static void EnsureInstalled(Action<string> say)
    {
        var missing = new List<string>();
        if (RedisServer() is null)
        {
            missing.Add("redis-server");
        }

        if (FindPostgres() is null)
        {
            missing.Add("postgresql");
        }

        if (missing.Count == 0)
        {
            return;
        }

        if (!IsRoot || !File.Exists("/usr/bin/apt-get"))
        {
            throw new PrerequisiteMissingException(
                $"{string.Join(" and ", missing)} {(missing.Count == 1 ? "is" : "are")} not installed. Install Redis and PostgreSQL once with:\n    {InstallCommand}\nthen run again.");
        }

        say($"{string.Join(" and ", missing)} not installed: installing with apt-get (one time, about a minute)...");
        Run("apt-get", ["update", "-qq"]);
        Run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", .. missing]);
        if (RedisServer() is null || FindPostgres() is null)
        {
            throw new PrerequisiteMissingException($"apt-get finished but the servers were not found. Run: {InstallCommand}");
        }
    }

    /// <summary>Runs a short command to its end; its output goes to the resource's log if it fails.</summary>
    public static async Task RunAsync(string file, IEnumerable<string> args, ILogger logger, CancellationToken ct)
    {
        using var process = Process.Start(StartInfo(file, args))!;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            logger.LogError("{Command} failed: {Output}", Path.GetFileName(file), await output.ConfigureAwait(false) + await error.ConfigureAwait(false));
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with code {process.ExitCode}");
        }
    }

    private static void Run(string file, string[] args)
    {
        var info = StartInfo(file, args);
        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new PrerequisiteMissingException(
                $"'{file} {string.Join(' ', args)}' failed with exit code {process.ExitCode}:\n{output.Result}{error.Result}\nRun: {InstallCommand}");
        }
    }

    private static ProcessStartInfo StartInfo(string file, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        return info;
    }

    private static string? FindPostgres()
    {
        if (!Directory.Exists(PostgresRoot))
        {
            return null;
        }

        return Directory.GetDirectories(PostgresRoot)
            .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
            .Where(x => File.Exists(Path.Combine(x.Dir, "postgres")) && File.Exists(Path.Combine(x.Dir, "initdb")))
            .OrderByDescending(x => x.Version)
            .Select(x => x.Dir)
            .FirstOrDefault();
    }
}

public sealed class PrerequisiteMissingException(string message) : Exception(message);
