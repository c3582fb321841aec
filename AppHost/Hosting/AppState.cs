using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.AppHost.Hosting;

/// <summary>
/// The app's state folder (<c>AppHost:StateDirectory</c>, by default the git-ignored <c>.state/</c> of the checkout):
/// Redis and PostgreSQL data, the gateway's usage spool and the generated parameters in <c>parameters.json</c>
/// (mode 600), so a restart keeps passwords, keys and data. One AppHost at a time owns it: a second one in the same
/// checkout stops with a message instead of starting a second Redis on the same files.
/// </summary>
public sealed class AppState : IDisposable
{
    public const string StateDirectoryKey = "AppHost:StateDirectory";

    private readonly Dictionary<string, string> _parameters;
    private readonly Lock _gate = new();
    private readonly FileStream? _ownership;

    private AppState(string directory, FileStream? ownership)
    {
        Directory = directory;
        _ownership = ownership;
        ParametersFile = Path.Combine(directory, "parameters.json");
        _parameters = File.Exists(ParametersFile)
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(ParametersFile)) ?? []
            : [];
    }

    public string Directory { get; }

    public string ParametersFile { get; }

    public static string RepositoryRoot { get; } =
        typeof(AppState).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RepositoryRoot").Value!;

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>Opens the state folder and takes ownership of it for the life of this process.</summary>
    public static AppState Open(IConfiguration configuration)
    {
        var directory = Path.GetFullPath(configuration[StateDirectoryKey] ?? Path.Combine(RepositoryRoot, ".state"));
        System.IO.Directory.CreateDirectory(directory);
        var lockFile = Path.Combine(directory, "apphost.lock");
        try
        {
            // FileShare.None is an exclusive flock on Linux, released by the kernel however this process ends.
            var ownership = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new AppState(directory, ownership);
        }
        catch (IOException)
        {
            throw new StateInUseException(
                $"Another AppHost is running with the state folder {directory}. Stop it first (Ctrl+C in its terminal), " +
                $"or give this one a folder of its own with --{StateDirectoryKey} <path> (and other ports: --Ports:gateway, --Ports:adminui, --Dashboard:Port).");
        }
    }

    /// <summary>A value generated once and kept in <c>parameters.json</c>.</summary>
    public string GetOrCreate(string name, Func<string> generate)
    {
        lock (_gate)
        {
            if (_parameters.TryGetValue(name, out var stored))
            {
                return stored;
            }

            var value = generate();
            _parameters[name] = value;
            StateFiles.WriteSecretAsync(ParametersFile, JsonSerializer.Serialize(_parameters, new JsonSerializerOptions { WriteIndented = true }))
                .GetAwaiter().GetResult();
            return value;
        }
    }

    public bool IsStored(string name)
    {
        lock (_gate)
        {
            return _parameters.ContainsKey(name);
        }
    }

    public void Dispose() => _ownership?.Dispose();
}

public sealed class StateInUseException(string message) : Exception(message);
