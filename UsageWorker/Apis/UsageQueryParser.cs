using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using LlmGateway.UsageWorker.Model;

namespace LlmGateway.UsageWorker.Apis;

/// <summary>
/// Reads the query strings of the usage API. Every mistake (an unknown parameter included, to catch typos) gets a
/// message that names the parameter and what it accepts. Times: ISO 8601 (<c>2025-06-01T10:00:00Z</c>; no offset means
/// UTC), a date (<c>2025-06-01</c>, UTC midnight) or Unix milliseconds. Ranges are [from, to).
/// </summary>
internal static class UsageQueryParser
{
    public static readonly TimeSpan MaxHourlyRange = TimeSpan.FromDays(93);
    public static readonly TimeSpan MaxDailyRange = TimeSpan.FromDays(3660);
    public static readonly TimeSpan MaxExportRange = TimeSpan.FromDays(366);
    public static readonly TimeSpan MaxStatsWindow = TimeSpan.FromDays(31);
    public static readonly TimeSpan MinStatsWindow = TimeSpan.FromMinutes(1);
    public const int MaxTop = 100;

    private static readonly string[] FilterParameters = ["credential_id", "owner_id", "org_id", "agent_name", "device_id", "model"];
    private static readonly string[] UsageParameters = [.. FilterParameters, "from", "to", "granularity", "group_by", "format"];
    private static readonly string[] ExportParameters = [.. FilterParameters, "from", "to"];
    private static readonly string[] StatsParameters = [.. FilterParameters, "from", "to", "window", "top"];

    private static readonly Dictionary<string, UsageDimension> Dimensions = new(StringComparer.Ordinal)
    {
        ["credential"] = UsageDimension.Credential,
        ["owner"] = UsageDimension.Owner,
        ["organization"] = UsageDimension.Organization,
        ["agent"] = UsageDimension.Agent,
        ["device"] = UsageDimension.Device,
        ["model"] = UsageDimension.Model,
    };

    /// <summary>
    /// <c>GET /admin/usage</c>: <c>granularity</c> hour (default) or day; <c>from</c>/<c>to</c> default to the last 24
    /// hours (hour) or 30 days (day) and are widened to whole buckets; <c>group_by</c> a comma list of credential,
    /// owner, organization, agent, device, model; <c>format</c> json (default) or csv.
    /// </summary>
    public static bool TryParseUsage(IQueryCollection query, DateTimeOffset now, [NotNullWhen(true)] out UsageReportQuery? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (!TryCheckNames(query, UsageParameters, out error)
            || !TryOne(query, "granularity", out var granularityText, out error)
            || !TryOne(query, "format", out var formatText, out error)
            || !TryOne(query, "group_by", out var groupByText, out error)
            || !TryFilter(query, out var filter, out error))
        {
            return false;
        }

        Granularity granularity;
        switch (granularityText)
        {
            case null or "hour": granularity = Granularity.Hour; break;
            case "day": granularity = Granularity.Day; break;
            default:
                error = $"granularity '{Clip(granularityText)}' is not supported: use hour or day.";
                return false;
        }

        bool csv;
        switch (formatText)
        {
            case null or "json": csv = false; break;
            case "csv": csv = true; break;
            default:
                error = $"format '{Clip(formatText)}' is not supported: use json or csv.";
                return false;
        }

        var groupBy = new List<UsageDimension>();
        if (!string.IsNullOrEmpty(groupByText))
        {
            foreach (var name in groupByText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!Dimensions.TryGetValue(name, out var dimension))
                {
                    error = $"group_by '{Clip(name)}' is not a dimension: use a comma-separated list of {string.Join(", ", Dimensions.Keys)}.";
                    return false;
                }

                if (!groupBy.Contains(dimension))
                {
                    groupBy.Add(dimension);
                }
            }
        }

        var bucket = granularity == Granularity.Hour ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);
        var defaultRange = granularity == Granularity.Hour ? TimeSpan.FromHours(24) : TimeSpan.FromDays(30);
        if (!TryRange(query, now, defaultRange, out var from, out var to, out error))
        {
            return false;
        }

        // Rollups hold whole buckets: widen the range to them (the response states the range used).
        from = Floor(from, bucket);
        to = Floor(to, bucket) == to ? to : Floor(to, bucket) + bucket;
        var max = granularity == Granularity.Hour ? MaxHourlyRange : MaxDailyRange;
        if (to - from > max)
        {
            error = granularity == Granularity.Hour
                ? $"The range is longer than {max.TotalDays:0} days: narrow it or use granularity=day."
                : $"The range is longer than {max.TotalDays:0} days: narrow it.";
            return false;
        }

        result = new UsageReportQuery(from, to, granularity, groupBy, filter, csv);
        return true;
    }

    /// <summary><c>GET /admin/usage/export</c>: every request in [from, to) (default the last 24 hours), at most 366 days.</summary>
    public static bool TryParseExport(IQueryCollection query, DateTimeOffset now, [NotNullWhen(true)] out ExportQuery? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (!TryCheckNames(query, ExportParameters, out error)
            || !TryFilter(query, out var filter, out error)
            || !TryRange(query, now, TimeSpan.FromHours(24), out var from, out var to, out error))
        {
            return false;
        }

        if (to - from > MaxExportRange)
        {
            error = $"The range is longer than {MaxExportRange.TotalDays:0} days: export it in parts.";
            return false;
        }

        result = new ExportQuery(from, to, filter);
        return true;
    }

    /// <summary>
    /// <c>GET /admin/stats</c>: either <c>window</c> (<c>30s</c>, <c>15m</c>, <c>1h</c>, <c>7d</c>; default 1h, ending now) or
    /// <c>from</c>/<c>to</c>, between 1 minute and 31 days; <c>top</c> 1–100 (default 5).
    /// </summary>
    public static bool TryParseStats(IQueryCollection query, DateTimeOffset now, [NotNullWhen(true)] out StatsQuery? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (!TryCheckNames(query, StatsParameters, out error)
            || !TryOne(query, "window", out var windowText, out error)
            || !TryOne(query, "top", out var topText, out error)
            || !TryFilter(query, out var filter, out error))
        {
            return false;
        }

        var top = 5;
        if (topText is not null && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top is < 1 or > MaxTop))
        {
            error = $"top '{Clip(topText)}' is not an integer between 1 and {MaxTop}.";
            return false;
        }

        DateTimeOffset from, to;
        if (windowText is not null)
        {
            if (query.ContainsKey("from") || query.ContainsKey("to"))
            {
                error = "Give either window or from/to, not both.";
                return false;
            }

            if (!TryDuration(windowText, out var window))
            {
                error = $"window '{Clip(windowText)}' is not a duration such as 30s, 15m, 1h or 7d.";
                return false;
            }

            if (window > MaxStatsWindow)
            {
                // Checked before it is subtracted from now: 999999d would not be a time at all.
                error = $"The window must be between {MinStatsWindow.TotalMinutes:0} minute and {MaxStatsWindow.TotalDays:0} days.";
                return false;
            }

            to = now;
            from = now - window;
        }
        else if (!TryRange(query, now, TimeSpan.FromHours(1), out from, out to, out error))
        {
            return false;
        }

        if (to - from < MinStatsWindow || to - from > MaxStatsWindow)
        {
            error = $"The window must be between {MinStatsWindow.TotalMinutes:0} minute and {MaxStatsWindow.TotalDays:0} days.";
            return false;
        }

        result = new StatsQuery(from, to, filter, top);
        return true;
    }

    internal static bool TryParseTime(string value, out DateTimeOffset time)
    {
        time = default;
        if (value.Length is > 0 and <= 15 && value.All(char.IsAsciiDigit))
        {
            var ms = long.Parse(value, CultureInfo.InvariantCulture);
            if (ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                return false;
            }

            time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
        else if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time))
        {
            return false;
        }

        time = time.ToUniversalTime();
        return time.Year is >= 2000 and < 2200;
    }

    internal static bool TryDuration(string value, out TimeSpan duration)
    {
        duration = default;
        // At most a million units, so that even days stay far inside TimeSpan's range.
        if (value.Length < 2 || !int.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            || amount > 1_000_000)
        {
            return false;
        }

        duration = value[^1] switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            _ => TimeSpan.Zero,
        };
        return duration > TimeSpan.Zero;
    }

    private static bool TryRange(IQueryCollection query, DateTimeOffset now, TimeSpan defaultLength, out DateTimeOffset from, out DateTimeOffset to, [NotNullWhen(false)] out string? error)
    {
        from = to = default;
        if (!TryOne(query, "from", out var fromText, out error) || !TryOne(query, "to", out var toText, out error))
        {
            return false;
        }

        to = now.ToUniversalTime();
        if (toText is not null && !TryParseTime(toText, out to))
        {
            error = $"to '{Clip(toText)}' is not a time: use ISO 8601 (2025-06-01T10:00:00Z), a date (2025-06-01) or Unix milliseconds, between 2000 and 2200.";
            return false;
        }

        from = to - defaultLength;
        if (fromText is not null && !TryParseTime(fromText, out from))
        {
            error = $"from '{Clip(fromText)}' is not a time: use ISO 8601 (2025-06-01T10:00:00Z), a date (2025-06-01) or Unix milliseconds, between 2000 and 2200.";
            return false;
        }

        if (from >= to)
        {
            error = "from must be earlier than to.";
            return false;
        }

        return true;
    }

    private static bool TryFilter(IQueryCollection query, out UsageFilter filter, [NotNullWhen(false)] out string? error)
    {
        filter = new UsageFilter();
        var values = new string?[FilterParameters.Length];
        for (var i = 0; i < FilterParameters.Length; i++)
        {
            if (!TryOne(query, FilterParameters[i], out values[i], out error))
            {
                return false;
            }

            if (values[i] is { Length: > UsageEventParser.MaxTextLength })
            {
                error = $"{FilterParameters[i]} is longer than {UsageEventParser.MaxTextLength} characters.";
                return false;
            }

            if (values[i] is { } text && (text.AsSpan().ContainsAnyInRange('\u0000', '\u001f') || text.Contains('\u007f') || HasLoneSurrogate(text)))
            {
                // No stored id contains one, and PostgreSQL refuses NUL in text: answer here, not with a database error.
                error = $"{FilterParameters[i]} contains a control character or invalid text.";
                return false;
            }
        }

        filter = new UsageFilter(values[0], values[1], values[2], values[3], values[4], values[5]);
        error = null;
        return true;
    }

    private static bool TryCheckNames(IQueryCollection query, string[] allowed, [NotNullWhen(false)] out string? error)
    {
        foreach (var key in query.Keys)
        {
            if (!allowed.Contains(key, StringComparer.Ordinal))
            {
                error = $"Unknown query parameter '{Clip(key)}'. Supported: {string.Join(", ", allowed)}.";
                return false;
            }
        }

        error = null;
        return true;
    }

    /// <summary>The parameter's single value (null when absent or empty); an error when it is given twice.</summary>
    private static bool TryOne(IQueryCollection query, string name, out string? value, [NotNullWhen(false)] out string? error)
    {
        value = null;
        error = null;
        if (!query.TryGetValue(name, out var values) || values.Count == 0)
        {
            return true;
        }

        if (values.Count > 1)
        {
            error = $"{name} is given more than once.";
            return false;
        }

        value = string.IsNullOrWhiteSpace(values[0]) ? null : values[0]!.Trim();
        return true;
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }

    private static DateTimeOffset Floor(DateTimeOffset time, TimeSpan unit) =>
        new(time.UtcTicks - (time.UtcTicks % unit.Ticks), TimeSpan.Zero);

    private static string Clip(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
