namespace LlmGateway.Contracts.Pricing;

/// <summary>
/// Anthropic's published list prices (USD per million tokens, standard context, 5-minute cache writes) for the Claude
/// models in service. Each key also matches its dated snapshots (<c>claude-sonnet-4-5</c> matches
/// <c>claude-sonnet-4-5-20250929</c>); see <see cref="PriceTable"/>. Override or extend them with configuration
/// (<c>Pricing:Models</c>) rather than editing this list when prices change.
/// </summary>
public static class BuiltInModelPrices
{
    public static IReadOnlyDictionary<string, ModelPrice> All { get; } = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase)
    {
        ["claude-opus-4-5"] = ModelPrice.FromInputOutput(5m, 25m),
        ["claude-opus-4-1"] = ModelPrice.FromInputOutput(15m, 75m),
        ["claude-opus-4-0"] = ModelPrice.FromInputOutput(15m, 75m),
        ["claude-opus-4"] = ModelPrice.FromInputOutput(15m, 75m),
        ["claude-sonnet-4-5"] = ModelPrice.FromInputOutput(3m, 15m),
        ["claude-sonnet-4-0"] = ModelPrice.FromInputOutput(3m, 15m),
        ["claude-sonnet-4"] = ModelPrice.FromInputOutput(3m, 15m),
        ["claude-3-7-sonnet"] = ModelPrice.FromInputOutput(3m, 15m),
        ["claude-3-5-sonnet"] = ModelPrice.FromInputOutput(3m, 15m),
        ["claude-haiku-4-5"] = ModelPrice.FromInputOutput(1m, 5m),
        ["claude-3-5-haiku"] = ModelPrice.FromInputOutput(0.80m, 4m),
        ["claude-3-opus"] = ModelPrice.FromInputOutput(15m, 75m),
        // Haiku 3's published cache prices are rounded ($0.30 / $0.03), not exactly 1.25× / 0.1× of $0.25.
        ["claude-3-haiku"] = new ModelPrice(0.25m, 1.25m, 0.30m, 0.03m),
    };
}
