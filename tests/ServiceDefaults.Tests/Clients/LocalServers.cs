using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace LlmGateway.ServiceDefaults.Tests.Clients;

internal static class FreePort
{
    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A real redis-server (Debian package) on a free loopback port with a generated password.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;

    private RedisServer(Process process, int port, string password)
    {
        _process = process;
        Port = port;
        Password = password;
    }

    public int Port { get; }

    public string Password { get; }

    /// <summary>Aspire's Redis connection string shape.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},password={Password}";

    public static async Task<RedisServer> StartAsync(int? port = null, string? password = null)
    {
        var actualPort = port ?? FreePort.Next();
        var actualPassword = password ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process
        {
            StartInfo = new ProcessStartInfo("/usr/bin/redis-server")
            {
                ArgumentList =
                {
                    "--port", actualPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                    "--requirepass", actualPassword, "--save", "", "--appendonly", "no", "--dir", Path.GetTempPath(),
                },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("redis-server exited before it was ready."));
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return new RedisServer(process, actualPort, actualPassword);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}

/// <summary>
/// A real PostgreSQL 15 server (Debian package) in its own data directory on a free loopback port, with
/// SCRAM password authentication as Aspire configures it. PostgreSQL refuses to run as root, so as root it
/// runs as the <c>postgres</c> system user.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private readonly Process _process;
    private readonly string _dataDirectory;

    private PostgresServer(Process process, string dataDirectory, int port, string password)
    {
        _process = process;
        _dataDirectory = dataDirectory;
        Port = port;
        Password = password;
    }

    public int Port { get; }

    public string Password { get; }

    /// <summary>Aspire's database connection string shape.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Password={Password};Database=postgres";

    public static async Task<PostgresServer> StartAsync()
    {
        var port = FreePort.Next();
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var root = Directory.CreateTempSubdirectory("servicedefaults-pg-").FullName;
        var dataDirectory = Path.Combine(root, "data");
        var passwordFile = Path.Combine(root, "password");
        await File.WriteAllTextAsync(passwordFile, password);
        if (IsRoot)
        {
            await RunAsync("chown", "-R", "postgres:postgres", root);
        }

        await RunAsync(AsPostgres(Path.Combine(BinDirectory, "initdb"), "-D", dataDirectory, "-U", "postgres",
            "--auth=scram-sha-256", "--pwfile=" + passwordFile, "--no-sync", "-E", "UTF8"));

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (file, arguments) = AsPostgres(Path.Combine(BinDirectory, "postgres"), "-D", dataDirectory,
            "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-k", root,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off");
        var process = new Process { StartInfo = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false } };
        foreach (var argument in arguments)
        {
            process.StartInfo.ArgumentList.Add(argument);
        }

        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("ready to accept connections", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("postgres exited before it was ready."));
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return new PostgresServer(process, dataDirectory, port, password);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await RunAsync(AsPostgres(Path.Combine(BinDirectory, "pg_ctl"), "-D", _dataDirectory, "stop", "-m", "immediate", "-w"));
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _process.Dispose();
        Directory.Delete(Path.GetDirectoryName(_dataDirectory)!, recursive: true);
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static (string File, string[] Arguments) AsPostgres(string file, params string[] arguments) =>
        IsRoot ? ("runuser", ["-u", "postgres", "--", file, .. arguments]) : (file, arguments);

    private static Task RunAsync((string File, string[] Arguments) command) => RunAsync(command.File, command.Arguments);

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output}{await error}");
        }
    }
}
