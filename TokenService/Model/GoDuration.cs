using System.Globalization;
using System.Text;

namespace LlmGateway.TokenService.Model;

/// <summary>
/// Durations written the way Go's <c>time.ParseDuration</c> reads them and <c>time.Duration.String</c> prints them
/// (<c>"1h"</c>, <c>"1h30m"</c>, <c>"90s"</c>, <c>"1.5h"</c> in; <c>"1h0m0s"</c>, <c>"1m30s"</c>, <c>"500ms"</c> out), because
/// clients of creddy-style token endpoints send and expect exactly these strings. Precision is .NET's tick (100 ns).
/// </summary>
public static class GoDuration
{
    private const long NanosecondsPerTick = 100;

    /// <summary>Parses a Go duration. On failure <paramref name="error"/> says what is wrong, in words a client can act on.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = "";
        if (string.IsNullOrEmpty(text))
        {
            error = "is empty; use a duration such as \"1h\", \"30m\" or \"1h30m\"";
            return false;
        }

        var s = text.AsSpan();
        var negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s.SequenceEqual("0"))
        {
            return true;
        }

        if (s.IsEmpty)
        {
            error = Invalid(text);
            return false;
        }

        decimal totalNanoseconds = 0;
        while (!s.IsEmpty)
        {
            // A number: digits, optionally '.' and more digits; at least one digit overall.
            var i = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }

            var integerDigits = i;
            var fractionDigits = 0;
            if (i < s.Length && s[i] == '.')
            {
                i++;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    i++;
                    fractionDigits++;
                }
            }

            if (integerDigits + fractionDigits == 0 || integerDigits > 20 || fractionDigits > 20)
            {
                error = Invalid(text);
                return false;
            }

            var number = decimal.Parse(s[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            s = s[i..];

            var unitLength = 0;
            while (unitLength < s.Length && !char.IsAsciiDigit(s[unitLength]) && s[unitLength] != '.')
            {
                unitLength++;
            }

            if (unitLength == 0)
            {
                error = $"\"{text}\" is missing a unit; use ns, us, ms, s, m or h (e.g. \"{text}s\")";
                return false;
            }

            var unit = s[..unitLength];
            s = s[unitLength..];
            decimal? nanosecondsPerUnit = unit switch
            {
                "ns" => 1m,
                "us" or "µs" or "μs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => null,
            };
            if (nanosecondsPerUnit is null)
            {
                error = $"\"{text}\" has an unknown unit \"{unit}\"; use ns, us, ms, s, m or h";
                return false;
            }

            totalNanoseconds += number * nanosecondsPerUnit.Value;
            if (totalNanoseconds > long.MaxValue)
            {
                error = $"\"{text}\" is too long";
                return false;
            }
        }

        var ticks = (long)(totalNanoseconds / NanosecondsPerTick);
        value = TimeSpan.FromTicks(negative ? -ticks : ticks);
        return true;
    }

    /// <summary>Parses a duration known to be valid (validated configuration).</summary>
    public static TimeSpan Parse(string text) =>
        TryParse(text, out var value, out var error) ? value : throw new FormatException($"Duration {error}");

    /// <summary>Formats like Go's <c>time.Duration.String()</c>: <c>1h0m0s</c>, <c>1m30s</c>, <c>1.5s</c>, <c>500ms</c>, <c>0s</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        var ticks = duration.Ticks;
        if (ticks == 0)
        {
            return "0s";
        }

        var negative = ticks < 0;
        // Nanoseconds as an unsigned magnitude; TimeSpan.MinValue's magnitude still fits in ulong.
        var u = (negative ? (ulong)-(ticks + 1) + 1 : (ulong)ticks) * NanosecondsPerTick;
        var text = new StringBuilder(32);

        if (u < 1_000_000_000)
        {
            // Below one second Go switches to the largest unit that keeps an integer part: ns, µs or ms.
            var (precision, unit) = u switch
            {
                < 1_000 => (0, "ns"),
                < 1_000_000 => (3, "µs"),
                _ => (6, "ms"),
            };
            AppendWithFraction(text, u, precision);
            text.Append(unit);
        }
        else
        {
            var seconds = u / 1_000_000_000;
            var hours = seconds / 3600;
            var minutes = seconds / 60 % 60;
            if (hours > 0)
            {
                text.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
            }

            if (hours > 0 || minutes > 0)
            {
                text.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
            }

            AppendWithFraction(text, (seconds % 60 * 1_000_000_000) + (u % 1_000_000_000), 9);
            text.Append('s');
        }

        return negative ? "-" + text : text.ToString();
    }

    // Writes value / 10^precision with the fraction's trailing zeros (and a bare '.') dropped, as Go's fmtFrac does.
    private static void AppendWithFraction(StringBuilder text, ulong value, int precision)
    {
        var scale = 1UL;
        for (var i = 0; i < precision; i++)
        {
            scale *= 10;
        }

        text.Append((value / scale).ToString(CultureInfo.InvariantCulture));
        var fraction = value % scale;
        if (fraction == 0)
        {
            return;
        }

        var digits = fraction.ToString(CultureInfo.InvariantCulture).PadLeft(precision, '0').TrimEnd('0');
        text.Append('.').Append(digits);
    }

    private static string Invalid(string text) =>
        $"\"{text}\" is not a duration; use a number with a unit such as \"1h\", \"30m\", \"1h30m\" or \"90s\"";
}
