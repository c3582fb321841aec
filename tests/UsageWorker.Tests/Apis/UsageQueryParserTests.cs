using LlmGateway.UsageWorker.Apis;
using LlmGateway.UsageWorker.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace LlmGateway.UsageWorker.Tests.Apis;

public sealed class UsageQueryParserTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 15, 10, 30, 0, TimeSpan.Zero);

    [Fact]
    public void Usage_defaults_to_the_last_24_hours_by_hour_widened_to_whole_buckets()
    {
        Assert.True(UsageQueryParser.TryParseUsage(Query(), Now, out var query, out _));
        Assert.Equal(Granularity.Hour, query!.Granularity);
        Assert.Equal(new DateTimeOffset(2025, 6, 14, 10, 0, 0, TimeSpan.Zero), query.From);
        Assert.Equal(new DateTimeOffset(2025, 6, 15, 11, 0, 0, TimeSpan.Zero), query.To);
        Assert.Empty(query.GroupBy);
        Assert.False(query.Csv);
    }

    [Fact]
    public void Usage_reads_range_granularity_grouping_filters_and_format()
    {
        Assert.True(UsageQueryParser.TryParseUsage(Query(
            ("from", "2025-06-01"), ("to", "2025-06-10T12:00:00+02:00"), ("granularity", "day"),
            ("group_by", "model, credential,model"), ("credential_id", "cred_1"), ("device_id", "dev_1"), ("format", "csv")), Now, out var query, out var error), error);
        Assert.Equal(new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero), query!.From);
        Assert.Equal(new DateTimeOffset(2025, 6, 11, 0, 0, 0, TimeSpan.Zero), query.To);
        Assert.Equal([UsageDimension.Model, UsageDimension.Credential], query.GroupBy);
        Assert.Equal(new UsageFilter(CredentialId: "cred_1", DeviceId: "dev_1"), query.Filter);
        Assert.True(query.Csv);
    }

    [Fact]
    public void Unix_milliseconds_are_times_too()
    {
        Assert.True(UsageQueryParser.TryParseUsage(Query(("from", "1749945600000"), ("to", "1749949200000")), Now, out var query, out _));
        Assert.Equal(new DateTimeOffset(2025, 6, 15, 0, 0, 0, TimeSpan.Zero), query!.From);
        Assert.Equal(new DateTimeOffset(2025, 6, 15, 1, 0, 0, TimeSpan.Zero), query.To);
    }

    [Theory]
    [InlineData("granularity", "week", "granularity 'week' is not supported: use hour or day.")]
    [InlineData("group_by", "team", "group_by 'team' is not a dimension")]
    [InlineData("format", "xml", "format 'xml' is not supported")]
    [InlineData("from", "yesterday", "from 'yesterday' is not a time")]
    [InlineData("to", "1999-01-01", "to '1999-01-01' is not a time")]
    [InlineData("from", "2025-06-16", "from must be earlier than to.")]
    [InlineData("from", "2025-01-01", "The range is longer than 93 days: narrow it or use granularity=day.")]
    [InlineData("limit", "5", "Unknown query parameter 'limit'.")]
    public void Bad_usage_parameters_get_a_message_naming_them(string name, string value, string message)
    {
        Assert.False(UsageQueryParser.TryParseUsage(Query((name, value)), Now, out _, out var error));
        Assert.StartsWith(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_parameter_given_twice_is_refused()
    {
        var query = new QueryCollection(new Dictionary<string, StringValues> { ["model"] = new(["a", "b"]) });
        Assert.False(UsageQueryParser.TryParseUsage(query, Now, out _, out var error));
        Assert.Equal("model is given more than once.", error);
    }

    [Fact]
    public void Stats_take_a_window_or_a_range_and_a_top()
    {
        Assert.True(UsageQueryParser.TryParseStats(Query(), Now, out var query, out _));
        Assert.Equal((Now.AddHours(-1), Now, 5), (query!.From, query.To, query.Top));

        Assert.True(UsageQueryParser.TryParseStats(Query(("window", "15m"), ("top", "20")), Now, out query, out _));
        Assert.Equal((Now.AddMinutes(-15), 20), (query!.From, query.Top));

        Assert.True(UsageQueryParser.TryParseStats(Query(("from", "2025-06-14"), ("to", "2025-06-15")), Now, out query, out _));
        Assert.Equal(TimeSpan.FromDays(1), query!.To - query.From);
    }

    [Theory]
    [InlineData("window", "1w", "window '1w' is not a duration")]
    [InlineData("window", "10s", "The window must be between 1 minute and 31 days.")]
    [InlineData("window", "40d", "The window must be between 1 minute and 31 days.")]
    [InlineData("top", "0", "top '0' is not an integer between 1 and 100.")]
    [InlineData("top", "x", "top 'x' is not an integer between 1 and 100.")]
    public void Bad_stats_parameters_get_a_message_naming_them(string name, string value, string message)
    {
        Assert.False(UsageQueryParser.TryParseStats(Query((name, value)), Now, out _, out var error));
        Assert.StartsWith(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Stats_refuse_window_together_with_a_range()
    {
        Assert.False(UsageQueryParser.TryParseStats(Query(("window", "1h"), ("from", "2025-06-14")), Now, out _, out var error));
        Assert.Equal("Give either window or from/to, not both.", error);
    }

    [Fact]
    public void Export_is_limited_to_a_year()
    {
        Assert.True(UsageQueryParser.TryParseExport(Query(("from", "2025-01-01")), Now, out var query, out _));
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), query!.From);
        Assert.False(UsageQueryParser.TryParseExport(Query(("from", "2020-01-01")), Now, out _, out var error));
        Assert.StartsWith("The range is longer than 366 days", error, StringComparison.Ordinal);
    }

    private static QueryCollection Query(params (string Name, string Value)[] pairs) =>
        new(pairs.ToDictionary(p => p.Name, p => new StringValues(p.Value)));
}
