using System.Text.Json;
using LlmGateway.AppHost.Model;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.AppHost.Orchestration;

/// <summary>
/// Parameter values: configuration <c>Parameters:{name}</c> first, else a value generated earlier and persisted in
/// <c>{state}/parameters.json</c> (mode 600), else generated now and persisted, so restarts keep passwords and keys.
/// </summary>
public sealed class ParameterStore
{
    private readonly IConfiguration _configuration;
    private readonly string _path;
    private readonly Dictionary<string, string> _persisted;
    private readonly Lock _gate = new();

    public ParameterStore(IConfiguration configuration, string stateDirectory)
    {
        _configuration = configuration;
        _path = Path.Combine(stateDirectory, "parameters.json");
        _persisted = File.Exists(_path)
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(_path)) ?? []
            : [];
    }

    public string FilePath => _path;

    /// <summary>Names of parameters generated during this run (for telling the operator where they are).</summary>
    public List<string> GeneratedThisRun { get; } = [];

    public bool IsFromConfiguration(ParameterResource parameter) =>
        !string.IsNullOrEmpty(_configuration[$"Parameters:{parameter.Name}"]);

    public string? Get(ParameterResource parameter)
    {
        var configured = _configuration[$"Parameters:{parameter.Name}"];
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        lock (_gate)
        {
            if (_persisted.TryGetValue(parameter.Name, out var stored))
            {
                return stored;
            }

            if (parameter.Generate is null)
            {
                return null;
            }

            var value = parameter.Generate();
            _persisted[parameter.Name] = value;
            GeneratedThisRun.Add(parameter.Name);
            Save();
            return value;
        }
    }

    private void Save()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var temp = _path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(_persisted, new JsonSerializerOptions { WriteIndented = true }));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temp, _path, overwrite: true);
    }
}
