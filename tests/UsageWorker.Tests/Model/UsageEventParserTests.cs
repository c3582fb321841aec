using LlmGateway.Contracts.Pricing;
using LlmGateway.Contracts.Usage;
using LlmGateway.UsageWorker.Model;

namespace LlmGateway.UsageWorker.Tests.Model;

public sealed class UsageEventParserTests
{
    private static readonly UsageEventParser Parser = new(PriceTable.BuiltIn);

    [Fact]
    public void An_event_is_priced_at_the_price_of_the_upstream_that_served_it()
    {
        var prices = PriceTable.Create(new PricingOptions
        {
            Upstreams = new() { ["openai"] = new() { ["gpt-*"] = new ModelPriceOptions { Input = 1, Output = 2 } } },
        });
        var parser = new UsageEventParser(prices);
        (string, string)[] Event(string upstream) =>
        [
            (UsageEventFields.RequestId, "req_" + upstream), (UsageEventFields.Timestamp, "1750000000123"), (UsageEventFields.Model, "gpt-4o"),
            (UsageEventFields.Upstream, upstream), (UsageEventFields.InputTokens, "1000"), (UsageEventFields.OutputTokens, "500"),
        ];

        Assert.True(parser.TryParse(Fields(Event("openai")), out var served, out var error), error);
        Assert.Equal(2_000_000, served!.CostNanoUsd); // 1000 × $1/M + 500 × $2/M = $0.002
        Assert.True(parser.TryParse(Fields(Event("other")), out var unpriced, out error), error);
        Assert.False(unpriced!.Priced);
    }

    [Fact]
    public void A_complete_event_is_parsed_and_priced()
    {
        var ok = Parser.TryParse(Fields(
            (UsageEventFields.RequestId, "req_1"),
            (UsageEventFields.Timestamp, "1750000000123"),
            (UsageEventFields.CredentialId, "cred_1"),
            (UsageEventFields.CredentialKind, "device_token"),
            (UsageEventFields.OwnerType, "device"),
            (UsageEventFields.OwnerId, "own_1"),
            (UsageEventFields.OrganizationId, "org_1"),
            (UsageEventFields.AgentName, "builder"),
            (UsageEventFields.DeviceId, "dev_1"),
            (UsageEventFields.Model, "claude-sonnet-4-5-20250929"),
            (UsageEventFields.Upstream, "anthropic"),
            (UsageEventFields.Route, "/v1/messages"),
            (UsageEventFields.Status, "200"),
            (UsageEventFields.InputTokens, "1000"),
            (UsageEventFields.OutputTokens, "500"),
            (UsageEventFields.CacheCreationInputTokens, "100"),
            (UsageEventFields.CacheReadInputTokens, "2000"),
            (UsageEventFields.Stream, "1"),
            (UsageEventFields.LatencyMs, "321"),
            (UsageEventFields.TimeToFirstByteMs, "45"),
            (UsageEventFields.Estimated, "0"),
            ("field_from_a_newer_gateway", "ignored")), out var usage, out var error);

        Assert.True(ok, error);
        Assert.Equal("req_1", usage!.RequestId);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1750000000123), usage.Timestamp);
        Assert.Equal(("cred_1", "device_token", "device", "own_1", "org_1", "builder", "dev_1"),
            (usage.CredentialId, usage.CredentialKind, usage.OwnerType, usage.OwnerId, usage.OrganizationId, usage.AgentName, usage.DeviceId));
        Assert.Equal((short)200, usage.Status);
        Assert.Equal((1000L, 500L, 100L, 2000L), (usage.InputTokens, usage.OutputTokens, usage.CacheCreationInputTokens, usage.CacheReadInputTokens));
        Assert.True(usage.Stream);
        Assert.False(usage.Estimated);
        Assert.Equal(321, usage.LatencyMs);
        Assert.Equal(45, usage.TimeToFirstByteMs);
        Assert.Equal(11_475_000, usage.CostNanoUsd);
        Assert.True(usage.Priced);
        Assert.False(usage.IsError);
    }

    [Fact]
    public void Only_request_id_and_time_are_required()
    {
        Assert.True(Parser.TryParse(Fields((UsageEventFields.RequestId, "r"), (UsageEventFields.Timestamp, "1750000000000")), out var usage, out _));
        Assert.Null(usage!.Model);
        Assert.Equal(0, usage.CostNanoUsd);
        Assert.True(usage.Priced); // nothing to price
    }

    [Theory]
    [InlineData("500", null, true)]
    [InlineData("429", null, true)]
    [InlineData("200", "stream_cut", true)]
    [InlineData("200", null, false)]
    public void Errors_are_error_statuses_or_noted_error_types(string status, string? errorType, bool isError)
    {
        var fields = new List<(string, string)> { (UsageEventFields.RequestId, "r"), (UsageEventFields.Timestamp, "1750000000000"), (UsageEventFields.Status, status) };
        if (errorType is not null)
        {
            fields.Add((UsageEventFields.ErrorType, errorType));
        }

        Assert.True(Parser.TryParse(Fields([.. fields]), out var usage, out _));
        Assert.Equal(isError, usage!.IsError);
    }

    [Fact]
    public void Tokens_of_an_unknown_model_are_stored_unpriced()
    {
        Assert.True(Parser.TryParse(Fields(
            (UsageEventFields.RequestId, "r"), (UsageEventFields.Timestamp, "1750000000000"),
            (UsageEventFields.Model, "mystery-model"), (UsageEventFields.InputTokens, "10")), out var usage, out _));
        Assert.False(usage!.Priced);
        Assert.Equal(0, usage.CostNanoUsd);
        Assert.Equal(10, usage.InputTokens);
    }

    [Theory]
    [InlineData(UsageEventFields.Timestamp, "abc", "ts 'abc' is not an integer")]
    [InlineData(UsageEventFields.Timestamp, "12", "ts '12' is not an integer between")]
    [InlineData(UsageEventFields.InputTokens, "-1", "input_tokens '-1' is not an integer")]
    [InlineData(UsageEventFields.OutputTokens, "1.5", "output_tokens '1.5' is not an integer")]
    [InlineData(UsageEventFields.OutputTokens, "99999999999999999999", "output_tokens")]
    [InlineData(UsageEventFields.Status, "2000", "status '2000'")]
    [InlineData(UsageEventFields.Stream, "yes", "stream 'yes' is not 0 or 1")]
    [InlineData(UsageEventFields.LatencyMs, "9999999999", "latency_ms")]
    public void Malformed_values_are_refused_with_a_reason(string field, string value, string reason)
    {
        var fields = new Dictionary<string, string> { [UsageEventFields.RequestId] = "r", [UsageEventFields.Timestamp] = "1750000000000" };
        fields[field] = value;
        Assert.False(Parser.TryParse(Fields([.. fields.Select(kv => (kv.Key, kv.Value))]), out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_request_id_or_time_and_oversized_text_are_refused()
    {
        Assert.False(Parser.TryParse(Fields((UsageEventFields.Timestamp, "1750000000000")), out _, out var error));
        Assert.Equal("request_id is missing", error);
        Assert.False(Parser.TryParse(Fields((UsageEventFields.RequestId, "r")), out _, out error));
        Assert.Equal("ts is missing", error);
        Assert.False(Parser.TryParse(Fields((UsageEventFields.RequestId, new string('x', 201)), (UsageEventFields.Timestamp, "1750000000000")), out _, out _));
        Assert.False(Parser.TryParse(Fields((UsageEventFields.RequestId, "r"), (UsageEventFields.Timestamp, "1750000000000"), (UsageEventFields.Model, new string('m', 257))), out _, out error));
        Assert.Contains("model is longer than 256", error, StringComparison.Ordinal);
        Assert.False(Parser.TryParse(["request_id"], out _, out error));
    }

    internal static string[] Fields(params (string Name, string Value)[] pairs) => pairs.SelectMany(p => new[] { p.Name, p.Value }).ToArray();
}
