using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmGateway.Benchmarks;

/// <summary>One measured number, with its target when it has one.</summary>
public sealed record Measurement(string Section, string Metric, double Value, string Unit, string? Target = null, bool? Met = null);

/// <summary>Collects measurements; prints them as a table and writes the same numbers as JSON.</summary>
public sealed class Report
{
    private readonly List<Measurement> _rows = [];

    public void Add(string section, string metric, double value, string unit, string? target = null, bool? met = null)
    {
        var row = new Measurement(section, metric, Math.Round(value, 3), unit, target, met);
        _rows.Add(row);
        Console.WriteLine($"  {section,-12} {metric,-52} {Format(row.Value),12} {unit,-8} {target ?? ""}{(met is null ? "" : met.Value ? "  ok" : "  MISSED")}");
    }

    public string Table()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"section",-12} {"metric",-52} {"value",12} {"unit",-8} target");
        text.AppendLine("  " + new string('-', 110));
        foreach (var r in _rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"  {r.Section,-12} {r.Metric,-52} {Format(r.Value),12} {r.Unit,-8} {r.Target ?? ""}{(r.Met is null ? "" : r.Met.Value ? "  ok" : "  MISSED")}");
        }

        return text.ToString();
    }

    public void WriteJson(string path, JsonObject environment)
    {
        var json = new JsonObject
        {
            ["environment"] = environment,
            ["measurements"] = new JsonArray(_rows.Select(r => (JsonNode)new JsonObject
            {
                ["section"] = r.Section,
                ["metric"] = r.Metric,
                ["value"] = r.Value,
                ["unit"] = r.Unit,
                ["target"] = r.Target,
                ["met"] = r.Met,
            }).ToArray()),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static string Format(double value) => value.ToString(Math.Abs(value) >= 100 ? "0.0" : "0.000", CultureInfo.InvariantCulture);
}
