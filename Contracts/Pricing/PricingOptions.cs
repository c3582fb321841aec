using System.Globalization;

namespace LlmGateway.Contracts.Pricing;

/// <summary>
/// Configuration section <c>Pricing</c>. Example (USD per million tokens; cache prices default to 1.25× / 0.1× input):
/// <code>
/// "Pricing": {
///   "Models": {
///     "claude-sonnet-4-5": { "Input": 3, "Output": 15 },
///     "my-fine-tune*": { "Input": 2, "Output": 8, "CacheWrite": 2.5, "CacheRead": 0.2 }
///   },
///   "Upstreams": {
///     "openai": { "gpt-4o-mini": { "Input": 0.15, "Output": 0.6, "CacheWrite": 0.15, "CacheRead": 0.075 } }
///   },
///   "UnknownModel": "Reject",
///   "Default": { "Input": 15, "Output": 75 }
/// }
/// </code>
/// </summary>
public sealed class PricingOptions
{
    public const string SectionName = "Pricing";

    /// <summary>Start from <see cref="BuiltInModelPrices"/> (default); <see cref="Models"/> overrides and adds to them.</summary>
    public bool IncludeBuiltInPrices { get; set; } = true;

    /// <summary>
    /// Prices by model id, or by a prefix ending in <c>*</c>. An entry for a built-in model may give only the fields it
    /// changes. A key without <c>*</c> also matches the id's dated snapshots (see <see cref="PriceTable"/>).
    /// </summary>
    public Dictionary<string, ModelPriceOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Prices of one upstream (by its name in <c>Upstreams:&lt;name&gt;</c>) that charges differently from
    /// <see cref="Models"/>: a request that upstream served is priced from its entries first (same matching rules),
    /// then from the general table. Budgets reserve at the dearest price any upstream may charge for the model.
    /// </summary>
    public Dictionary<string, Dictionary<string, ModelPriceOptions>> Upstreams { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// What to do with a model no entry matches: <see cref="UnknownModelRule.Reject"/> (it has no price; the Gateway
    /// refuses it) or <see cref="UnknownModelRule.Default"/> (priced at <see cref="Default"/>). When not set:
    /// <c>Default</c> if <see cref="Default"/> is given, else <c>Reject</c>.
    /// </summary>
    public UnknownModelRule? UnknownModel { get; set; }

    /// <summary>The price of unknown models under <see cref="UnknownModelRule.Default"/>.</summary>
    public ModelPriceOptions? Default { get; set; }

    /// <summary>Every problem with these options, each naming its configuration key; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        foreach (var (key, entry) in Models)
        {
            var path = $"{SectionName}:Models:{key}";
            if (string.IsNullOrWhiteSpace(key) || key.Trim() != key)
            {
                errors.Add($"{path}: a model id must not be empty or padded with spaces.");
            }
            else if (key.IndexOf('*', StringComparison.Ordinal) is var star && star >= 0 && star != key.Length - 1)
            {
                errors.Add($"{path}: '*' is only allowed at the end of a model pattern.");
            }

            var builtIn = IncludeBuiltInPrices && BuiltInModelPrices.All.ContainsKey(key);
            ValidatePrice(path, entry, requireInputOutput: !builtIn, errors);
        }

        foreach (var (upstream, models) in Upstreams)
        {
            foreach (var (key, entry) in models)
            {
                var path = $"{SectionName}:Upstreams:{upstream}:{key}";
                if (string.IsNullOrWhiteSpace(key) || key.Trim() != key
                    || (key.IndexOf('*', StringComparison.Ordinal) is var star && star >= 0 && star != key.Length - 1))
                {
                    errors.Add($"{path}: a model id or pattern ('*' only at the end) is required.");
                }

                ValidatePrice(path, entry, requireInputOutput: true, errors);
            }
        }

        var rule = EffectiveUnknownModelRule;
        if (Default is not null)
        {
            ValidatePrice($"{SectionName}:Default", Default, requireInputOutput: true, errors);
        }
        else if (rule == UnknownModelRule.Default)
        {
            errors.Add($"{SectionName}:UnknownModel is Default but {SectionName}:Default (Input, Output) is not set.");
        }

        return errors;
    }

    internal UnknownModelRule EffectiveUnknownModelRule =>
        UnknownModel ?? (Default is null ? UnknownModelRule.Reject : UnknownModelRule.Default);

    private static void ValidatePrice(string path, ModelPriceOptions? price, bool requireInputOutput, List<string> errors)
    {
        if (price is null)
        {
            errors.Add($"{path}: no prices given.");
            return;
        }

        if (requireInputOutput && (price.Input is null || price.Output is null))
        {
            errors.Add($"{path}: Input and Output (USD per million tokens) are required.");
        }

        foreach (var (name, value) in new[] { ("Input", price.Input), ("Output", price.Output), ("CacheWrite", price.CacheWrite), ("CacheRead", price.CacheRead) })
        {
            if (value is < 0m or > MaxUsdPerMTok)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{path}:{name}: {value} is not a price between 0 and {MaxUsdPerMTok} USD per million tokens."));
            }
        }
    }

    /// <summary>A sanity bound that also keeps cost arithmetic far from overflow.</summary>
    internal const decimal MaxUsdPerMTok = 10_000m;
}

/// <summary>Prices of one model in configuration, USD per million tokens.</summary>
public sealed class ModelPriceOptions
{
    public decimal? Input { get; set; }
    public decimal? Output { get; set; }

    /// <summary>5-minute prompt-cache write; default 1.25 × <see cref="Input"/>.</summary>
    public decimal? CacheWrite { get; set; }

    /// <summary>Prompt-cache read; default 0.1 × <see cref="Input"/>.</summary>
    public decimal? CacheRead { get; set; }
}

public enum UnknownModelRule
{
    /// <summary>An unknown model has no price: the Gateway rejects the request; the UsageWorker records it unpriced.</summary>
    Reject,

    /// <summary>An unknown model is priced at <see cref="PricingOptions.Default"/>.</summary>
    Default,
}
