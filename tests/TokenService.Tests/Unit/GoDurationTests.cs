using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Tests.Unit;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData("1h", 3600)]
    [InlineData("30m", 1800)]
    [InlineData("1h30m", 5400)]
    [InlineData("90s", 90)]
    [InlineData("1.5h", 5400)]
    [InlineData("2h45m30s", 9930)]
    [InlineData("0", 0)]
    [InlineData("+5s", 5)]
    [InlineData("-5s", -5)]
    [InlineData(".5m", 30)]
    public void Parses_go_durations(string text, double seconds)
    {
        Assert.True(GoDuration.TryParse(text, out var value, out var error), error);
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("300ms", 3_000_000)]
    [InlineData("1us", 10)]
    [InlineData("1µs", 10)]
    [InlineData("1μs", 10)]
    [InlineData("1500ns", 15)]
    public void Parses_sub_second_units_to_ticks(string text, long ticks)
    {
        Assert.True(GoDuration.TryParse(text, out var value, out _));
        Assert.Equal(ticks, value.Ticks);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("1", "missing a unit")]
    [InlineData("25", "missing a unit")]
    [InlineData("1d", "unknown unit \"d\"")]
    [InlineData("h", "is not a duration")]
    [InlineData("1h 30m", "unknown unit \"h \"")]
    [InlineData(".", "is not a duration")]
    [InlineData("-", "is not a duration")]
    [InlineData("9999999999h", "too long")]
    public void Rejects_malformed_durations_with_a_reason(string text, string reason)
    {
        Assert.False(GoDuration.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3600, "1h0m0s")]
    [InlineData(5400, "1h30m0s")]
    [InlineData(90, "1m30s")]
    [InlineData(59, "59s")]
    [InlineData(0, "0s")]
    [InlineData(86400, "24h0m0s")]
    [InlineData(-90, "-1m30s")]
    [InlineData(1.5, "1.5s")]
    [InlineData(3661.25, "1h1m1.25s")]
    public void Formats_like_go_duration_string(double seconds, string expected) =>
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromSeconds(seconds)));

    [Theory]
    [InlineData(5_000_000, "500ms")]
    [InlineData(15_000, "1.5ms")]
    [InlineData(10, "1µs")]
    [InlineData(1, "100ns")]
    public void Formats_sub_second_durations_with_the_largest_whole_unit(long ticks, string expected) =>
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromTicks(ticks)));

    [Theory]
    [InlineData("1h")]
    [InlineData("1h30m")]
    [InlineData("90s")]
    [InlineData("1.5s")]
    [InlineData("250ms")]
    public void Formatted_values_parse_back_to_the_same_duration(string text)
    {
        Assert.True(GoDuration.TryParse(text, out var value, out _));
        Assert.True(GoDuration.TryParse(GoDuration.Format(value), out var again, out _));
        Assert.Equal(value, again);
    }
}
