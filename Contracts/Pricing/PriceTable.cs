using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;

namespace LlmGateway.Contracts.Pricing;

/// <summary>
/// Prices every model the gateway serves. The Gateway uses it for budget reservations (worst case from
/// <c>max_tokens</c>), the UsageWorker for the recorded cost, so both charge the same. Immutable and thread-safe.
/// </summary>
/// <remarks>
/// A model id is matched, in order, by:
/// <list type="number">
/// <item>an entry with exactly that id (case-insensitive);</item>
/// <item>the longest entry id followed by a snapshot suffix: <c>-YYYYMMDD</c> or <c>@YYYYMMDD</c> (optionally followed by
/// more, as in <c>-20250929-v1:0</c>) or <c>-latest</c>. So <c>claude-sonnet-4-5</c> prices <c>claude-sonnet-4-5-20250929</c>,
/// while <c>claude-sonnet-4</c> does not price <c>claude-sonnet-4-5-20250929</c>;</item>
/// <item>the longest pattern ending in <c>*</c> whose prefix the id starts with;</item>
/// <item>the unknown-model price, when the rule is <see cref="UnknownModelRule.Default"/>.</item>
/// </list>
/// </remarks>
public sealed class PriceTable
{
    private readonly Dictionary<string, ModelPrice> _exact;
    private readonly (string Key, ModelPrice Price)[] _bySnapshotPrefix;
    private readonly (string Prefix, string Key, ModelPrice Price)[] _patterns;
    private readonly Dictionary<string, PriceTable> _upstreams = new(StringComparer.OrdinalIgnoreCase);

    public PriceTable(IReadOnlyDictionary<string, ModelPrice> models, ModelPrice? unknownModelPrice = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        _exact = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase);
        var patterns = new List<(string, string, ModelPrice)>();
        foreach (var (key, price) in models)
        {
            if (key.EndsWith('*'))
            {
                patterns.Add((key[..^1], key, price));
            }
            else
            {
                _exact[key] = price;
            }
        }

        Models = new Dictionary<string, ModelPrice>(models, StringComparer.OrdinalIgnoreCase);
        _bySnapshotPrefix = _exact.Select(e => (e.Key, e.Value)).OrderByDescending(e => e.Key.Length).ToArray();
        _patterns = patterns.OrderByDescending(p => p.Item1.Length).ToArray();
        UnknownModelPrice = unknownModelPrice;
    }

    /// <summary>Anthropic's list prices, rejecting unknown models.</summary>
    public static PriceTable BuiltIn { get; } = new(BuiltInModelPrices.All);

    /// <summary>Every configured entry (ids and <c>*</c> patterns).</summary>
    public IReadOnlyDictionary<string, ModelPrice> Models { get; }

    /// <summary>The price of models no entry matches, or null when they are rejected.</summary>
    public ModelPrice? UnknownModelPrice { get; }

    /// <summary>Builds the table from bound options; throws <see cref="InvalidOperationException"/> listing every problem.</summary>
    public static PriceTable Create(PricingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Invalid pricing configuration: " + string.Join(" ", errors));
        }

        var models = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase);
        if (options.IncludeBuiltInPrices)
        {
            foreach (var (key, price) in BuiltInModelPrices.All)
            {
                models[key] = price;
            }
        }

        foreach (var (key, entry) in options.Models)
        {
            models[key] = Resolve(entry, models.GetValueOrDefault(key));
        }

        var unknown = options.EffectiveUnknownModelRule == UnknownModelRule.Default ? Resolve(options.Default!, null) : null;
        var table = new PriceTable(models, unknown);
        foreach (var (upstream, entries) in options.Upstreams)
        {
            table._upstreams[upstream] = new PriceTable(entries.ToDictionary(e => e.Key, e => Resolve(e.Value, null), StringComparer.OrdinalIgnoreCase));
        }

        return table;
    }

    /// <summary>
    /// The price of <paramref name="model"/> as <paramref name="upstream"/> charges it (<c>Pricing:Upstreams</c>), else
    /// the general price; false when neither prices it.
    /// </summary>
    public bool TryGetPrice(string? model, string? upstream, [NotNullWhen(true)] out ModelPrice? price)
    {
        if (upstream is not null && _upstreams.TryGetValue(upstream, out var own) && own.Find(model) is { } match)
        {
            price = match.Price;
            return true;
        }

        return TryGetPrice(model, out price);
    }

    /// <summary>
    /// The dearest price any upstream may charge for <paramref name="model"/>, component by component (for a budget
    /// reservation made before the upstream is chosen); false when nothing prices it.
    /// </summary>
    public bool TryGetHighestPrice(string? model, [NotNullWhen(true)] out ModelPrice? price)
    {
        TryGetPrice(model, out price);
        foreach (var table in _upstreams.Values)
        {
            if (table.Find(model) is not { } match)
            {
                continue;
            }

            var other = match.Price;
            price = price is null ? other : new ModelPrice(
                Math.Max(price.InputPerMTok, other.InputPerMTok),
                Math.Max(price.OutputPerMTok, other.OutputPerMTok),
                Math.Max(price.CacheWritePerMTok, other.CacheWritePerMTok),
                Math.Max(price.CacheReadPerMTok, other.CacheReadPerMTok));
        }

        return price is not null;
    }

    /// <summary>Binds and builds from the <c>Pricing</c> configuration section (pass the section itself).</summary>
    public static PriceTable FromConfiguration(IConfiguration pricingSection)
    {
        ArgumentNullException.ThrowIfNull(pricingSection);
        var options = new PricingOptions();
        pricingSection.Bind(options);
        return Create(options);
    }

    /// <summary>The price of <paramref name="model"/>, or false when it has none (unknown under the reject rule).</summary>
    public bool TryGetPrice(string? model, [NotNullWhen(true)] out ModelPrice? price)
    {
        price = Find(model)?.Price;
        return price is not null;
    }

    /// <summary>The entry that prices <paramref name="model"/> (<see cref="PriceMatch.Key"/> is null for the unknown-model price).</summary>
    public PriceMatch? Find(string? model)
    {
        if (!string.IsNullOrEmpty(model))
        {
            if (_exact.TryGetValue(model, out var exact))
            {
                return new PriceMatch(model, exact);
            }

            foreach (var (key, price) in _bySnapshotPrefix)
            {
                if (model.Length > key.Length
                    && model.StartsWith(key, StringComparison.OrdinalIgnoreCase)
                    && IsSnapshotSuffix(model.AsSpan(key.Length)))
                {
                    return new PriceMatch(key, price);
                }
            }

            foreach (var (prefix, key, price) in _patterns)
            {
                if (model.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    return new PriceMatch(key, price);
                }
            }
        }

        return UnknownModelPrice is null ? null : new PriceMatch(null, UnknownModelPrice);
    }

    /// <summary><c>-20250929</c>, <c>@20250929</c>, <c>-20250929-v1:0</c>, <c>-latest</c>.</summary>
    internal static bool IsSnapshotSuffix(ReadOnlySpan<char> suffix)
    {
        if (suffix.Equals("-latest", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (suffix.Length < 9 || suffix[0] is not ('-' or '@'))
        {
            return false;
        }

        foreach (var c in suffix.Slice(1, 8))
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return suffix.Length == 9 || suffix[9] is '-' or ':' or '@';
    }

    private static ModelPrice Resolve(ModelPriceOptions entry, ModelPrice? basePrice)
    {
        var input = entry.Input ?? basePrice!.InputPerMTok;
        var output = entry.Output ?? basePrice!.OutputPerMTok;

        // Cache prices follow a changed input price unless given; an unchanged built-in keeps its own.
        var derived = entry.Input is null && basePrice is not null ? basePrice : ModelPrice.FromInputOutput(input, output);
        return new ModelPrice(
            input,
            output,
            entry.CacheWrite ?? derived.CacheWritePerMTok,
            entry.CacheRead ?? derived.CacheReadPerMTok);
    }
}

/// <summary>How a model was priced: <see cref="Key"/> is the matching entry, null for the unknown-model price.</summary>
public sealed record PriceMatch(string? Key, ModelPrice Price);
