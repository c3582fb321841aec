using LlmGateway.Contracts.Pricing;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.UsageWorker.Tests.Pricing;

public sealed class PriceTableTests
{
    [Theory]
    [InlineData("claude-sonnet-4-5", "claude-sonnet-4-5")]
    [InlineData("claude-sonnet-4-5-20250929", "claude-sonnet-4-5")]
    [InlineData("CLAUDE-SONNET-4-5-20250929", "claude-sonnet-4-5")]
    [InlineData("claude-sonnet-4-20250514", "claude-sonnet-4")]
    [InlineData("claude-opus-4-1-20250805", "claude-opus-4-1")]
    [InlineData("claude-opus-4-20250514", "claude-opus-4")]
    [InlineData("claude-opus-4-5-20251101", "claude-opus-4-5")]
    [InlineData("claude-haiku-4-5-20251001", "claude-haiku-4-5")]
    [InlineData("claude-3-5-haiku-latest", "claude-3-5-haiku")]
    [InlineData("claude-3-7-sonnet@20250219", "claude-3-7-sonnet")]
    [InlineData("claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5")]
    public void Built_in_prices_match_ids_and_their_dated_snapshots(string model, string expectedKey)
    {
        Assert.Equal(expectedKey, PriceTable.BuiltIn.Find(model)?.Key);
    }

    [Theory]
    [InlineData("claude-sonnet-4-6")]          // a newer model must not be priced as Sonnet 4
    [InlineData("claude-sonnet-4-5-preview")]
    [InlineData("claude-sonnet-4-5-2025")]
    [InlineData("gpt-4o")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_models_have_no_price_under_the_reject_rule(string? model)
    {
        Assert.False(PriceTable.BuiltIn.TryGetPrice(model, out _));
    }

    [Fact]
    public void Published_list_prices_with_cache_write_and_read_derived_from_input()
    {
        var sonnet = PriceTable.BuiltIn.Models["claude-sonnet-4-5"];
        Assert.Equal(new ModelPrice(3m, 15m, 3.75m, 0.3m), sonnet);
        Assert.Equal(new ModelPrice(5m, 25m, 6.25m, 0.5m), PriceTable.BuiltIn.Models["claude-opus-4-5"]);
        Assert.Equal(new ModelPrice(15m, 75m, 18.75m, 1.5m), PriceTable.BuiltIn.Models["claude-opus-4-1"]);
        Assert.Equal(new ModelPrice(1m, 5m, 1.25m, 0.1m), PriceTable.BuiltIn.Models["claude-haiku-4-5"]);
        Assert.Equal(new ModelPrice(0.8m, 4m, 1m, 0.08m), PriceTable.BuiltIn.Models["claude-3-5-haiku"]);
    }

    [Fact]
    public void Cost_is_exact_in_nano_usd()
    {
        var sonnet = PriceTable.BuiltIn.Models["claude-sonnet-4-5"];

        // 1000 × $3 + 500 × $15 + 100 × $3.75 + 2000 × $0.30 per million = $0.011475.
        Assert.Equal(11_475_000, sonnet.CostNanoUsd(new TokenUsage(1000, 500, 100, 2000)));
        Assert.Equal(3_000_000_000, sonnet.CostNanoUsd(new TokenUsage(1_000_000, 0)));
        Assert.Equal(3_000, sonnet.CostNanoUsd(new TokenUsage(1, 0)));

        // $0.08 per million cache reads: 80 nano-USD per token, no float drift over many tokens.
        var haiku35 = PriceTable.BuiltIn.Models["claude-3-5-haiku"];
        Assert.Equal(80, haiku35.CostNanoUsd(new TokenUsage(0, 0, 0, 1)));
        Assert.Equal(80_000_000_000, haiku35.CostNanoUsd(new TokenUsage(0, 0, 0, 1_000_000_000)));
    }

    [Fact]
    public void Fractional_nano_usd_round_half_away_from_zero()
    {
        var price = new ModelPrice(0.0005m, 0.0015m, 0m, 0m); // 0.5 and 1.5 nano-USD per token
        Assert.Equal(1, price.CostNanoUsd(new TokenUsage(1, 0)));
        Assert.Equal(2, price.CostNanoUsd(new TokenUsage(0, 1)));
        Assert.Equal(5, price.CostNanoUsd(new TokenUsage(10, 0)));
    }

    [Fact]
    public void Worst_case_prices_input_at_the_dearer_of_input_and_cache_write_plus_max_output()
    {
        var sonnet = PriceTable.BuiltIn.Models["claude-sonnet-4-5"];
        Assert.Equal((1000 * 3.75m + 4096 * 15m) * 1000, sonnet.WorstCaseNanoUsd(1000, 4096));
    }

    [Fact]
    public void Configuration_overrides_built_in_prices_adds_models_and_patterns()
    {
        var table = PriceTable.FromConfiguration(Section(new()
        {
            ["Pricing:Models:claude-sonnet-4-5:Output"] = "16",
            ["Pricing:Models:claude-haiku-4-5:Input"] = "2",
            ["Pricing:Models:acme-model:Input"] = "1.5",
            ["Pricing:Models:acme-model:Output"] = "2.5",
            ["Pricing:Models:acme-model:CacheRead"] = "0.01",
            ["Pricing:Models:acme-*:Input"] = "9",
            ["Pricing:Models:acme-*:Output"] = "9",
        }));

        // Only the given field changes; cache prices of an unchanged input stay the built-in ones.
        Assert.Equal(new ModelPrice(3m, 16m, 3.75m, 0.3m), table.Models["claude-sonnet-4-5"]);
        // A changed input price carries the derived cache prices with it.
        Assert.Equal(new ModelPrice(2m, 5m, 2.5m, 0.2m), table.Models["claude-haiku-4-5"]);
        Assert.Equal(new ModelPrice(1.5m, 2.5m, 1.875m, 0.01m), table.Find("acme-model-20250101")!.Price);
        Assert.Equal("acme-*", table.Find("acme-other")!.Key);
        Assert.Equal("claude-opus-4-5", table.Find("claude-opus-4-5")!.Key);
    }

    [Fact]
    public void Default_price_prices_unknown_models_when_configured()
    {
        var table = PriceTable.FromConfiguration(Section(new()
        {
            ["Pricing:Default:Input"] = "10",
            ["Pricing:Default:Output"] = "30",
        }));
        var match = table.Find("some-new-model");
        Assert.NotNull(match);
        Assert.Null(match.Key);
        Assert.Equal(10m, match.Price.InputPerMTok);

        var rejecting = PriceTable.FromConfiguration(Section(new()
        {
            ["Pricing:UnknownModel"] = "Reject",
            ["Pricing:Default:Input"] = "10",
            ["Pricing:Default:Output"] = "30",
        }));
        Assert.Null(rejecting.Find("some-new-model"));
    }

    [Fact]
    public void An_upstream_priced_differently_is_charged_its_own_price_and_reservations_take_the_dearest()
    {
        var table = PriceTable.FromConfiguration(Section(new()
        {
            ["Pricing:Models:gpt-4o-mini:Input"] = "0.2",
            ["Pricing:Models:gpt-4o-mini:Output"] = "0.5",
            ["Pricing:Upstreams:openai:gpt-4o-mini:Input"] = "0.15",
            ["Pricing:Upstreams:openai:gpt-4o-mini:Output"] = "0.6",
            ["Pricing:Upstreams:openai:gpt-4o-mini:CacheWrite"] = "0.15",
            ["Pricing:Upstreams:openai:gpt-4o-mini:CacheRead"] = "0.075",
            ["Pricing:Upstreams:vllm:llama-*:Input"] = "0.01",
            ["Pricing:Upstreams:vllm:llama-*:Output"] = "0.02",
        }));

        Assert.True(table.TryGetPrice("gpt-4o-mini", "openai", out var own));
        Assert.Equal(new ModelPrice(0.15m, 0.6m, 0.15m, 0.075m), own);
        // Another upstream (or none) pays the general price; a model only one upstream prices is priced there only.
        Assert.True(table.TryGetPrice("gpt-4o-mini", "azure", out var general));
        Assert.Equal(0.2m, general.InputPerMTok);
        Assert.True(table.TryGetPrice("llama-3-70b", "VLLM", out var llama));
        Assert.Equal(0.01m, llama.InputPerMTok);
        Assert.False(table.TryGetPrice("llama-3-70b", null, out _));
        // Before the upstream is chosen, a budget reserves at the dearest of every component.
        Assert.True(table.TryGetHighestPrice("gpt-4o-mini", out var highest));
        Assert.Equal(new ModelPrice(0.2m, 0.6m, 0.25m, 0.075m), highest);
        Assert.True(table.TryGetHighestPrice("llama-3-70b", out var onlyUpstream));
        Assert.Equal(0.02m, onlyUpstream.OutputPerMTok);
        Assert.False(table.TryGetHighestPrice("unpriced", out _));

        var invalid = Assert.Throws<InvalidOperationException>(() => PriceTable.FromConfiguration(Section(new()
        {
            ["Pricing:Upstreams:openai:gpt-*-x:Input"] = "1",
        })));
        Assert.Contains("Pricing:Upstreams:openai:gpt-*-x", invalid.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_configured_models_when_built_in_prices_are_off()
    {
        var table = PriceTable.FromConfiguration(Section(new()
        {
            ["Pricing:IncludeBuiltInPrices"] = "false",
            ["Pricing:Models:mine:Input"] = "1",
            ["Pricing:Models:mine:Output"] = "1",
        }));
        Assert.Null(table.Find("claude-sonnet-4-5"));
        Assert.NotNull(table.Find("mine"));
    }

    [Fact]
    public void Invalid_configuration_is_refused_with_every_problem_named()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PriceTable.FromConfiguration(Section(new()
        {
            ["Pricing:Models:new-model:Input"] = "1",
            ["Pricing:Models:neg:Input"] = "-1",
            ["Pricing:Models:neg:Output"] = "1",
            ["Pricing:Models:a*b:Input"] = "1",
            ["Pricing:Models:a*b:Output"] = "1",
            ["Pricing:UnknownModel"] = "Default",
        })));
        Assert.Contains("Pricing:Models:new-model: Input and Output", error.Message, StringComparison.Ordinal);
        Assert.Contains("Pricing:Models:neg:Input", error.Message, StringComparison.Ordinal);
        Assert.Contains("Pricing:Models:a*b: '*' is only allowed at the end", error.Message, StringComparison.Ordinal);
        Assert.Contains("Pricing:UnknownModel is Default but Pricing:Default", error.Message, StringComparison.Ordinal);
    }

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection(PricingOptions.SectionName);
}
