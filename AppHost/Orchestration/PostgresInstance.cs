using System.Diagnostics;
using System.Globalization;
using LlmGateway.AppHost.Model;
using Npgsql;

namespace LlmGateway.AppHost.Orchestration;

/// <summary>
/// A local PostgreSQL server: initdb on first start (scram-sha-256, generated password), then <c>postgres</c>.
/// PostgreSQL refuses to run as root, so as root both run as the <c>postgres</c> system user via setpriv, which
/// execs (no intermediate process) so signals reach the postmaster directly.
/// </summary>
public sealed class PostgresInstance(PostgresServerResource server, ResourceLog log, RunContext run) : ResourceInstance(server, log)
{
    private ManagedProcess? _process;

    public int Port { get; } = run.PortFor(server, server.Endpoint.Name);

    public string ConnectionString =>
        $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username={PostgresServerResource.UserName};Password={run.Parameters.Get(server.Password)}";

    public string DatabaseConnectionString(PostgresDatabaseResource database) => $"{ConnectionString};Database={database.DatabaseName}";

    public override string? Url => $"postgresql://127.0.0.1:{Port}";

    protected override async Task<Task<int>> LaunchAsync(CancellationToken ct)
    {
        var bin = await Prerequisites.PostgresBinDirectoryAsync(Log.Write, ct).ConfigureAwait(false);
        var directory = Path.Combine(run.Options.StateDirectory, Name);
        var data = Path.Combine(directory, "data");
        var sockets = Path.Combine(directory, "sockets");
        Directory.CreateDirectory(directory);
        Directory.CreateDirectory(sockets);
        var asRoot = ManagedProcess.IsRoot;
        if (asRoot)
        {
            // The postgres user must be able to reach its data directory through the state folder.
            MakeTraversable(directory);
            await RunToEndAsync("chown", ["-R", "postgres:postgres", directory], ct).ConfigureAwait(false);
        }

        if (!File.Exists(Path.Combine(data, "PG_VERSION")))
        {
            await InitializeAsync(bin, data, asRoot, ct).ConfigureAwait(false);
        }

        await run.Stale.KillLeftoverAsync(Name, "postgres", Log.Write).ConfigureAwait(false);
        List<string> args =
        [
            "-D", data, "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-c", $"unix_socket_directories={sockets}",
            "-c", "max_connections=300", "-c", "log_min_messages=warning", "-c", "log_destination=stderr",
        ];
        if (run.Options.Ephemeral)
        {
            args.AddRange(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }

        _process = asRoot
            ? ManagedProcess.Start("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", Path.Combine(bin, "postgres"), .. args], directory, Env(), Log)
            : ManagedProcess.Start(Path.Combine(bin, "postgres"), args, directory, Env(), Log);
        run.Stale.Record(Name, _process.Id);
        ProcessId = _process.Id;
        return _process.Exited;
    }

    private async Task InitializeAsync(string bin, string data, bool asRoot, CancellationToken ct)
    {
        Log.Write("initializing a new PostgreSQL data directory");
        var passwordFile = Path.Combine(Path.GetDirectoryName(data)!, "initdb.pw");
        await File.WriteAllTextAsync(passwordFile, run.Parameters.Get(((PostgresServerResource)Resource).Password), ct).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        try
        {
            if (asRoot)
            {
                await RunToEndAsync("chown", ["postgres:postgres", passwordFile], ct).ConfigureAwait(false);
            }

            string[] initdb =
            [
                Path.Combine(bin, "initdb"), "-D", data, "-U", PostgresServerResource.UserName, $"--pwfile={passwordFile}",
                "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-locale",
                .. run.Options.Ephemeral ? new[] { "--no-sync" } : [],
            ];
            if (asRoot)
            {
                await RunToEndAsync("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", .. initdb], ct).ConfigureAwait(false);
            }
            else
            {
                await RunToEndAsync(initdb[0], initdb[1..], ct).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    protected override async Task<bool> ProbeAsync(CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection($"{ConnectionString};Database=postgres;Pooling=false;Timeout=3");
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Creates each database of this server, like Aspire's run mode (42P04 "already exists" is fine).</summary>
    protected override async Task OnHealthyAsync(CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection($"{ConnectionString};Database=postgres;Pooling=false;Timeout=5");
        await connection.OpenAsync(ct).ConfigureAwait(false);
        foreach (var database in ((PostgresServerResource)Resource).Databases)
        {
            var quoted = "\"" + database.DatabaseName.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
            await using var command = new NpgsqlCommand($"CREATE DATABASE {quoted}", connection);
            try
            {
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                Log.Write($"created database {database.DatabaseName}");
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
            }
        }
    }

    protected override async Task TerminateAsync()
    {
        if (_process is not null)
        {
            // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for pooled client connections to close.
            await _process.StopAsync(TimeSpan.FromSeconds(4), ManagedProcess.SigInt).ConfigureAwait(false);
            run.Stale.Forget(Name);
        }
    }

    private static Dictionary<string, string?> Env() => new() { ["LC_ALL"] = "C.UTF-8", ["PGDATA"] = null };

    private static void MakeTraversable(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        for (var d = new DirectoryInfo(directory); d is not null; d = d.Parent)
        {
            var mode = File.GetUnixFileMode(d.FullName);
            if (!mode.HasFlag(UnixFileMode.OtherExecute))
            {
                File.SetUnixFileMode(d.FullName, mode | UnixFileMode.OtherExecute);
            }
        }
    }

    private async Task RunToEndAsync(string file, IEnumerable<string> args, CancellationToken ct)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            Log.Write(await output.ConfigureAwait(false) + await error.ConfigureAwait(false));
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with code {process.ExitCode}");
        }
    }
}
