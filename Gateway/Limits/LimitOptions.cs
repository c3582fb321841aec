using System.ComponentModel.DataAnnotations;
using System.Globalization;
using LlmGateway.Contracts.Credentials;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// Requests/min, tokens/min, concurrency and budgets, shared by every gateway instance through Redis (section
/// <c>Limits</c>). A credential's own limits come from its projection; these are the defaults and the policies.
/// </summary>
public sealed class LimitOptions
{
    public const string SectionName = "Limits";

    /// <summary>Off: no admission at all (no limits, no budgets, no rate-limit headers).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Limits per credential kind, used for each field the credential itself leaves unset.</summary>
    [ValidateObjectMembers]
    public LimitDefaults Defaults { get; set; } = new();

    /// <summary>
    /// Limits of every owner (all credentials of one owner together: <c>owner.id</c> of the projection, e.g. an
    /// organisation). Unset fields: no owner limit of that kind.
    /// </summary>
    [ValidateObjectMembers]
    public LimitValues Owner { get; set; } = new();

    /// <summary>Per-owner overrides by owner id; each set field replaces the one from <see cref="Owner"/>.</summary>
    public Dictionary<string, LimitValues> Owners { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How much a prompt-cache read token counts toward tokens/min, 0 to 1. Default 0: like Anthropic's own input-token
    /// limits, cache reads do not count (they are priced separately in budgets either way).
    /// </summary>
    [Range(0d, 1d)]
    public double CacheReadTokenWeight { get; set; }

    /// <summary>The output tokens assumed when a request names no <c>max_tokens</c> (tokens/min estimate, budget reservation).</summary>
    [Range(0, 10_000_000)]
    public int DefaultMaxTokens { get; set; } = 4096;

    [ValidateObjectMembers]
    public BudgetReservationOptions Reservation { get; set; } = new();

    /// <summary>Longest wait for one Redis limit call; beyond it the request is decided by the fallback policies.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>After a failed Redis limit call, requests use the fallback without trying Redis for this long.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan RedisRetryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a concurrency slot and a budget reservation live without renewal. Each instance renews its in-flight
    /// requests every third of it, so only the leases of a crashed instance expire (and free their slots).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:03", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    [ValidateObjectMembers]
    public RedisUnavailablePolicy RedisUnavailable { get; set; } = new();

    /// <summary>Quota this instance takes from Redis in advance so that most requests are admitted without a round trip (<c>Limits:Leases</c>).</summary>
    [ValidateObjectMembers]
    public LeaseOptions Leases { get; set; } = new();

    /// <summary>
    /// Refuse budgeted requests while the spend counters are not known to be complete (the UsageWorker's marker
    /// <c>lgw:budget:rebuilt</c> is missing after Redis lost its data), following <see cref="RedisUnavailablePolicy.Budgets"/>.
    /// Turn off only where no UsageWorker runs.
    /// </summary>
    public bool RequireRebuiltSpend { get; set; } = true;

    /// <summary>Most credentials/owners the per-instance fallback limiters track.</summary>
    [Range(16, 10_000_000)]
    public int FallbackCapacity { get; set; } = 10_000;

    /// <summary>Most spend counters held in memory while Redis cannot take settlements (replayed when it answers).</summary>
    [Range(16, 10_000_000)]
    public int PendingSpendCapacity { get; set; } = 100_000;
}

/// <summary><c>Limits:Defaults:{ApiKey|AgentToken|DeviceToken}</c>.</summary>
public sealed class LimitDefaults
{
    [ValidateObjectMembers]
    public LimitValues ApiKey { get; set; } = new();

    [ValidateObjectMembers]
    public LimitValues AgentToken { get; set; } = new();

    [ValidateObjectMembers]
    public LimitValues DeviceToken { get; set; } = new();

    public LimitValues For(CredentialKind kind) => kind switch
    {
        CredentialKind.AgentToken => AgentToken,
        CredentialKind.DeviceToken => DeviceToken,
        _ => ApiKey,
    };
}

/// <summary>One set of limits in configuration; an unset field means "no limit of this kind".</summary>
public sealed class LimitValues
{
    [Range(1, int.MaxValue)]
    public int? RequestsPerMinute { get; set; }

    [Range(1, int.MaxValue)]
    public int? TokensPerMinute { get; set; }

    [Range(1, int.MaxValue)]
    public int? MaxConcurrent { get; set; }

    /// <summary>Money per <see cref="BudgetPeriod"/> in USD (at most 6 decimals).</summary>
    [Range(typeof(decimal), "0", "1000000000")]
    public decimal? BudgetUsd { get; set; }

    /// <summary><c>total</c> (default), <c>daily</c> or <c>monthly</c> (UTC).</summary>
    [AllowedValues(null, "total", "daily", "monthly")]
    public string? BudgetPeriod { get; set; }

    internal CredentialLimits ToLimits() => new()
    {
        RequestsPerMinute = RequestsPerMinute,
        TokensPerMinute = TokensPerMinute,
        MaxConcurrent = MaxConcurrent,
        BudgetUsd = BudgetUsd,
        BudgetPeriod = BudgetUsd is null ? null : BudgetPeriod ?? "total",
    };

    internal string? Problem(string path)
    {
        if (BudgetUsd is { } budget && decimal.Round(budget, 6) != budget)
        {
            return $"{path}:BudgetUsd may have at most 6 decimal places.";
        }

        return BudgetPeriod is not null && BudgetUsd is null ? $"{path}:BudgetPeriod needs {path}:BudgetUsd." : null;
    }

    internal LimitValues OverriddenBy(LimitValues? other) => other is null ? this : new()
    {
        RequestsPerMinute = other.RequestsPerMinute ?? RequestsPerMinute,
        TokensPerMinute = other.TokensPerMinute ?? TokensPerMinute,
        MaxConcurrent = other.MaxConcurrent ?? MaxConcurrent,
        BudgetUsd = other.BudgetUsd ?? BudgetUsd,
        BudgetPeriod = other.BudgetUsd is not null ? other.BudgetPeriod : BudgetPeriod,
    };
}

/// <summary>
/// The worst case a budget reserves before forwarding. A request can never use more output than its
/// <c>max_tokens</c>; its input is bounded by its size, because a token is at least one byte of text.
/// </summary>
public sealed class BudgetReservationOptions
{
    /// <summary>
    /// Request bytes per input token assumed for the reservation. 1 (default) is an upper bound for any text; larger
    /// values reserve less (about 4 for English prose) at the risk of a request costing more than it reserved.
    /// </summary>
    [Range(1, 16)]
    public int BytesPerInputToken { get; set; } = 1;

    /// <summary>
    /// Input tokens added to every reservation for what the API adds to a request's own text: the tool-use system
    /// prompt (a few hundred tokens). Images and PDF pages are covered by their bytes (base64 is far longer than the
    /// tokens they cost). It used to be 4,096, which made small budgets unspendable: a $0.02 budget allowed 4 requests.
    /// </summary>
    [Range(0, 1_000_000)]
    public int InputTokenAllowance { get; set; } = 512;

    /// <summary>No request has more input than the largest context window (1M tokens with the long-context beta).</summary>
    [Range(1, 100_000_000)]
    public int MaxInputTokens { get; set; } = 1_000_000;
}

/// <summary>
/// Leased quota (<c>Limits:Leases</c>): when a request is admitted through Redis far from every limit, the same script
/// call also hands this instance a share of what is left (request slots and tokens of the current window, concurrency
/// slots, budget), from which the following requests are admitted in memory. What the leases of all instances hold is
/// counted as used in Redis, so no limit can be passed; near a limit no lease is granted and every request goes to
/// Redis as before.
/// </summary>
public sealed class LeaseOptions
{
    /// <summary>Off: every request is admitted by its own Redis call.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>A lease takes at most this fraction of what is left of a limit (1/16 by default): with several instances competing, what one holds unused stays small.</summary>
    [Range(2, 1024)]
    public int HeadroomShare { get; set; } = 16;

    /// <summary>No lease smaller than this many requests (of the request that takes it) is taken: near a limit requests go to Redis one by one, exactly.</summary>
    [Range(1, 100_000)]
    public int MinRequests { get; set; } = 8;

    /// <summary>The largest lease, in requests like the one that takes it (request slots, concurrency slots; tokens and budget scale with its estimate and worst case).</summary>
    [Range(1, 1_000_000)]
    public int MaxRequests { get; set; } = 512;

    /// <summary>How long a lease's concurrency slots and budget live in Redis without renewal (renewed every third of it while used): what a crashed instance held frees after this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A lease no request used for this long gives back what it holds unused.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ReturnWhenIdle { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the settlement of a request admitted from leases (its cost into the spend counters, tokens beyond its
    /// estimate) waits for others to share its Redis call. Its cost is reserved in the budget lease meanwhile, so no
    /// limit can be passed; what other instances see of the spend lags by at most this. Zero (the default) sends each
    /// at once, or with the settlements that queued behind a call in flight. For many lightly loaded instances sharing
    /// one Redis: 10 ms cut Redis' CPU per serial request from ~80 to ~27 µs, but it did not help under load and the
    /// serial latency was no better (Gateway README, "Leased quota").
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan SettleInterval { get; set; } = TimeSpan.Zero;
}

/// <summary>What happens to limits while Redis cannot be asked (<c>Limits:RedisUnavailable</c>).</summary>
public sealed class RedisUnavailablePolicy
{
    /// <summary>Requests/min, tokens/min and concurrency: per-instance limiters (default, fail open) or refuse (fail closed).</summary>
    [EnumDataType(typeof(RateLimitFallback))]
    public RateLimitFallback RateLimits { get; set; } = RateLimitFallback.PerInstance;

    /// <summary>Budgets: refuse budgeted requests (default, fail closed) or admit them unchecked (fail open).</summary>
    [EnumDataType(typeof(BudgetFallback))]
    public BudgetFallback Budgets { get; set; } = BudgetFallback.Reject;
}

public enum RateLimitFallback
{
    /// <summary>Each instance enforces every limit on its own: N instances admit up to N times the limit.</summary>
    PerInstance,

    /// <summary>503 for every request of a credential with a rate or concurrency limit.</summary>
    Reject,
}

public enum BudgetFallback
{
    /// <summary>503 for every request that a budget applies to.</summary>
    Reject,

    /// <summary>Admitted without a reservation; the spend is settled into Redis once it answers.</summary>
    Allow,
}

[OptionsValidator]
public sealed partial class LimitOptionsAnnotationsValidator : IValidateOptions<LimitOptions>;

/// <summary>Data annotations plus what they cannot say: budget decimals, periods without budgets, per-owner entries.</summary>
public sealed class LimitOptionsValidator : IValidateOptions<LimitOptions>
{
    private readonly LimitOptionsAnnotationsValidator _annotations = new();

    public ValidateOptionsResult Validate(string? name, LimitOptions options)
    {
        var errors = new List<string>();
        var annotations = _annotations.Validate(name, options);
        if (annotations.Failed)
        {
            errors.AddRange(annotations.Failures);
        }

        void Check(LimitValues values, string path)
        {
            if (values.Problem(path) is { } problem)
            {
                errors.Add(problem);
            }
        }

        Check(options.Defaults.ApiKey, "Limits:Defaults:ApiKey");
        Check(options.Defaults.AgentToken, "Limits:Defaults:AgentToken");
        Check(options.Defaults.DeviceToken, "Limits:Defaults:DeviceToken");
        Check(options.Owner, "Limits:Owner");
        foreach (var (owner, values) in options.Owners)
        {
            var path = "Limits:Owners:" + owner;
            if (values is null)
            {
                continue;
            }

            Check(values, path);
            var context = new ValidationContext(values);
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(values, context, results, validateAllProperties: true))
            {
                errors.AddRange(results.Select(r => string.Create(CultureInfo.InvariantCulture, $"{path}: {r.ErrorMessage}")));
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
