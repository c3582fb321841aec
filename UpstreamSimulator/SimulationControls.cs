using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace LlmGateway.UpstreamSimulator;

/// <summary>The control headers of one request, parsed and range-checked (see <see cref="SimulatorHeaders"/>).</summary>
internal readonly struct SimulationControls
{
    private const int MaxDelayMs = 600_000;
    private const int MaxIdLength = 200;

    public int LatencyMs { get; private init; }
    public int TtftMs { get; private init; }
    public int EventDelayMs { get; private init; }
    public int ForcedStatus { get; private init; }
    public int ForcedStatusTimes { get; private init; }
    public int? RetryAfterSeconds { get; private init; }
    public int? CutAfter { get; private init; }
    public int? ErrorAfter { get; private init; }
    public int? OutputTokens { get; private init; }
    public int? WordsPerDelta { get; private init; }
    public int CacheReadTokens { get; private init; }
    public int CacheCreationTokens { get; private init; }
    public string? Gate { get; private init; }
    public string? Tag { get; private init; }

    public static bool TryParse(IHeaderDictionary headers, out SimulationControls controls, out string? error)
    {
        controls = default;
        error = null;
        if (!TryReadInt(headers, SimulatorHeaders.LatencyMs, 0, MaxDelayMs, out var latency, ref error)
            || !TryReadInt(headers, SimulatorHeaders.TtftMs, 0, MaxDelayMs, out var ttft, ref error)
            || !TryReadInt(headers, SimulatorHeaders.EventDelayMs, 0, MaxDelayMs, out var eventDelay, ref error)
            || !TryReadInt(headers, SimulatorHeaders.Status, 400, 599, out var status, ref error)
            || !TryReadInt(headers, SimulatorHeaders.StatusTimes, 1, int.MaxValue, out var statusTimes, ref error)
            || !TryReadInt(headers, SimulatorHeaders.RetryAfter, 0, 86_400, out var retryAfter, ref error)
            || !TryReadInt(headers, SimulatorHeaders.CutAfter, 0, int.MaxValue, out var cutAfter, ref error)
            || !TryReadInt(headers, SimulatorHeaders.ErrorAfter, 0, int.MaxValue, out var errorAfter, ref error)
            || !TryReadInt(headers, SimulatorHeaders.OutputTokens, 0, 1_000_000, out var outputTokens, ref error)
            || !TryReadInt(headers, SimulatorHeaders.WordsPerDelta, 1, 10_000, out var wordsPerDelta, ref error)
            || !TryReadInt(headers, SimulatorHeaders.CacheReadTokens, 0, int.MaxValue / 4, out var cacheRead, ref error)
            || !TryReadInt(headers, SimulatorHeaders.CacheCreationTokens, 0, int.MaxValue / 4, out var cacheCreation, ref error)
            || !TryReadId(headers, SimulatorHeaders.Gate, out var gate, ref error)
            || !TryReadId(headers, SimulatorHeaders.RequestTag, out var tag, ref error))
        {
            return false;
        }

        controls = new SimulationControls
        {
            LatencyMs = latency ?? 0,
            TtftMs = ttft ?? 0,
            EventDelayMs = eventDelay ?? 0,
            ForcedStatus = status ?? 0,
            ForcedStatusTimes = statusTimes ?? 0,
            RetryAfterSeconds = retryAfter,
            CutAfter = cutAfter,
            ErrorAfter = errorAfter,
            OutputTokens = outputTokens,
            WordsPerDelta = wordsPerDelta,
            CacheReadTokens = cacheRead ?? 0,
            CacheCreationTokens = cacheCreation ?? 0,
            Gate = gate,
            Tag = tag,
        };
        return true;
    }

    private static bool TryReadInt(IHeaderDictionary headers, string name, int min, int max, out int? value, ref string? error)
    {
        value = null;
        if (!headers.TryGetValue(name, out var raw) || StringValues.IsNullOrEmpty(raw))
        {
            return true;
        }

        if (raw.Count == 1
            && int.TryParse(raw[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
            && parsed >= min && parsed <= max)
        {
            value = parsed;
            return true;
        }

        error = $"{name}: must be one integer between {min} and {max}";
        return false;
    }

    private static bool TryReadId(IHeaderDictionary headers, string name, out string? value, ref string? error)
    {
        value = null;
        if (!headers.TryGetValue(name, out var raw) || StringValues.IsNullOrEmpty(raw))
        {
            return true;
        }

        var text = raw.Count == 1 ? raw[0] : null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxIdLength)
        {
            error = $"{name}: must be one non-blank value of at most {MaxIdLength} characters";
            return false;
        }

        value = text;
        return true;
    }
}
