using System.Globalization;
using System.Net.Sockets;
using System.Text;
using LlmGateway.AppHost.Model;

namespace LlmGateway.AppHost.Orchestration;

/// <summary>A local <c>redis-server</c>: password and settings in a config file (never on the command line).</summary>
public sealed class RedisInstance(RedisResource redis, ResourceLog log, RunContext run) : ResourceInstance(redis, log)
{
    private ManagedProcess? _process;

    public int Port { get; } = run.PortFor(redis, redis.Endpoint.Name);

    public string Password => run.Parameters.Get(redis.Password)!;

    public string ConnectionString => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)},password={Password}";

    public override string? Url => $"redis://127.0.0.1:{Port}";

    protected override async Task<Task<int>> LaunchAsync(CancellationToken ct)
    {
        var binary = await Prerequisites.RedisServerAsync(Log.Write, ct).ConfigureAwait(false);
        var directory = Path.Combine(run.Options.StateDirectory, Name);
        Directory.CreateDirectory(directory);
        var config = Path.Combine(directory, "redis.conf");
        var durable = !run.Options.Ephemeral;
        var settings = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"port {Port}")
            .AppendLine("bind 127.0.0.1")
            .AppendLine("protected-mode yes")
            .AppendLine(CultureInfo.InvariantCulture, $"requirepass \"{Password}\"")
            .AppendLine(CultureInfo.InvariantCulture, $"dir \"{directory}\"")
            .AppendLine("daemonize no")
            .AppendLine("logfile \"\"")
            // The usage stream must survive a Redis restart: append-only file, fsync every second, plus snapshots.
            // Throw-away apps (tests) keep the file but leave flushing to the OS: a stop and start keeps the data.
            .AppendLine("appendonly yes")
            .AppendLine(durable ? "appendfsync everysec" : "appendfsync no")
            .AppendLine(durable ? "save 60 1" : "save \"\"")
            .ToString();
        await File.WriteAllTextAsync(config, settings, ct).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        await run.Stale.KillLeftoverAsync(Name, "redis-server", Log.Write).ConfigureAwait(false);
        _process = ManagedProcess.Start(binary, [config], directory, new Dictionary<string, string?>(), Log);
        run.Stale.Record(Name, _process.Id);
        ProcessId = _process.Id;
        return _process.Exited;
    }

    protected override async Task<bool> ProbeAsync(CancellationToken ct)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port, ct).ConfigureAwait(false);
        var stream = client.GetStream();
        var auth = Encoding.UTF8.GetBytes(
            $"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(Password)}\r\n{Password}\r\n*1\r\n$4\r\nPING\r\n");
        await stream.WriteAsync(auth, ct).ConfigureAwait(false);
        var buffer = new byte[256];
        var received = new StringBuilder();
        while (!received.ToString().Contains("+PONG", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
            if (received.ToString().StartsWith('-'))
            {
                return false; // -LOADING while the AOF is read, or an auth error
            }
        }

        return true;
    }

    protected override async Task TerminateAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            run.Stale.Forget(Name);
        }
    }
}
