using System.Runtime.CompilerServices;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Admission;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// Everything that limits one credential: itself, each credential it was minted from, and its owner, with the
/// effective limits of each. Built once per projection (projections are immutable and cached by the resolver).
/// </summary>
internal sealed class LimitProfile
{
    public LimitProfile(IReadOnlyList<LimitSubject> subjects, string credentialId, IReadOnlyList<string> ancestorIds, string ownerId)
    {
        Subjects = subjects;
        Limited = subjects.Where(s => s.IsLimited).ToArray();
        RateLimited = subjects.Where(s => s.RequestsPerMinute > 0 || s.MaxConcurrent > 0).ToArray();
        HasBudget = Limited.Any(s => s.HasBudget);
        CredentialId = credentialId;
        AncestorIds = ancestorIds;
        OwnerId = ownerId;
    }

    /// <summary>Credential first, then its ancestors nearest first, then the owner.</summary>
    public IReadOnlyList<LimitSubject> Subjects { get; }

    /// <summary>The subjects with any limit or budget: what a metered request is admitted against.</summary>
    public LimitSubject[] Limited { get; }

    /// <summary>The subjects with a requests/min or concurrency limit: what an unmetered request (count_tokens) is admitted against.</summary>
    public LimitSubject[] RateLimited { get; }

    public bool HasBudget { get; }

    public string CredentialId { get; }

    public IReadOnlyList<string> AncestorIds { get; }

    public string OwnerId { get; }

    /// <summary>The spend counters of the current UTC day (<see cref="Limits.SpendKeys.For"/>); replaced whole, never changed.</summary>
    internal DaySpendKeys? SpendKeys { get; set; }
}

/// <summary>
/// What admitting one request takes: the subjects to check, the tokens/min estimate and the worst-case cost to reserve.
/// </summary>
internal sealed class LimitPlan
{
    public required LimitProfile Profile { get; init; }

    /// <summary>The subjects this request is checked and charged against (empty: nothing to admit).</summary>
    public required LimitSubject[] Subjects { get; init; }

    /// <summary>Whether the route consumes tokens (count_tokens does not): only then tokens/min and budgets apply.</summary>
    public required bool Metered { get; init; }

    public required string? Model { get; init; }

    /// <summary>The model's price; null when the price table has none for it.</summary>
    public required ModelPrice? Price { get; init; }

    /// <summary>Tokens/min charged at admission: body bytes / 4 + max_tokens; corrected to the actual count at settlement.</summary>
    public required long TokenEstimate { get; init; }

    /// <summary>The budget reservation in nano-USD: the most this request can cost.</summary>
    public required long WorstCaseNanoUsd { get; init; }

    /// <summary>The input tokens the reservation assumes (from the body's size) and the output it allows (max_tokens).</summary>
    public required (long Input, long Output) WorstCaseTokens { get; init; }

    /// <summary>When the request was admitted (the gateway's clock): its spend is settled into this day's and month's counters.</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>A metered plan is checked against every limited subject (<see cref="LimitProfile.Limited"/>), so this is the profile's own flag.</summary>
    public bool ChecksBudget => Metered && Profile.HasBudget;

    public bool ChecksRates => Subjects.Any(s => s.RequestsPerMinute > 0 || s.MaxConcurrent > 0 || (Metered && s.TokensPerMinute > 0));

    public int TokensPerMinuteOf(LimitSubject subject) => Metered ? subject.TokensPerMinute : 0;

    public long BudgetOf(LimitSubject subject) => Metered ? subject.BudgetNanoUsd : -1;
}

/// <summary>Turns a credential projection and a request into a <see cref="LimitPlan"/>.</summary>
internal sealed class LimitPlanner(IOptions<LimitOptions> options, PriceTable prices, TimeProvider time)
{
    private readonly LimitOptions _options = options.Value;
    private readonly ConditionalWeakTable<CredentialProjection, LimitProfile> _profiles = new();

    public LimitProfile ProfileOf(CredentialProjection credential) =>
        _profiles.GetValue(credential, BuildProfile);

    public LimitPlan Plan(in AdmissionRequest request)
    {
        var profile = ProfileOf(request.Credential);
        var metered = request.MeteredTokens;
        // Reserved at the dearest price among the upstreams that may serve the model; settled at the price of the one that did.
        var price = metered && prices.TryGetHighestPrice(request.Model, out var found) ? found : null;
        var maxTokens = Math.Max(0, request.MaxTokens ?? _options.DefaultMaxTokens);
        var bytes = Math.Max(0, request.RequestBodyBytes);
        var reservation = _options.Reservation;
        var worstInput = Math.Min((long)reservation.MaxInputTokens,
            (bytes + reservation.BytesPerInputToken - 1L) / reservation.BytesPerInputToken + reservation.InputTokenAllowance);
        return new LimitPlan
        {
            Profile = profile,
            Subjects = metered ? profile.Limited : profile.RateLimited,
            Metered = metered,
            Model = request.Model,
            Price = price,
            TokenEstimate = metered ? (bytes + 3L) / 4 + maxTokens : 0,
            WorstCaseNanoUsd = price?.WorstCaseNanoUsd(worstInput, maxTokens) ?? 0,
            WorstCaseTokens = (worstInput, maxTokens),
            At = time.GetUtcNow(),
        };
    }

    /// <summary>Counts toward tokens/min: input, output, cache writes, and cache reads at their configured weight.</summary>
    public long CountedTokens(long input, long output, long cacheCreation, long cacheRead) =>
        input + output + cacheCreation + (long)Math.Ceiling(cacheRead * _options.CacheReadTokenWeight);

    private LimitProfile BuildProfile(CredentialProjection credential)
    {
        var defaults = _options.Defaults;
        var subjects = new List<LimitSubject>
        {
            new(SubjectRole.Credential, credential.Id, credential.Kind, credential.Limits ?? new CredentialLimits(), defaults.For(credential.Kind).ToLimits()),
        };

        var ancestorIds = new List<string>();
        foreach (var ancestor in credential.Ancestors ?? [])
        {
            // A cycle or a repeated id in a corrupt lineage must not charge one credential twice.
            if (ancestor is null || ancestor.Id == credential.Id || ancestorIds.Contains(ancestor.Id))
            {
                continue;
            }

            ancestorIds.Add(ancestor.Id);
            subjects.Add(new LimitSubject(SubjectRole.Ancestor, ancestor.Id, ancestor.Kind, ancestor.Limits ?? new CredentialLimits(),
                defaults.For(ancestor.Kind).ToLimits()));
        }

        var ownerId = credential.Owner.Id;
        var ownerLimits = _options.Owner.OverriddenBy(_options.Owners.GetValueOrDefault(ownerId)).ToLimits();
        subjects.Add(new LimitSubject(SubjectRole.Owner, ownerId, null, ownerLimits, null));
        return new LimitProfile(subjects, credential.Id, ancestorIds, ownerId);
    }
}

/// <summary>Where a settled request's cost goes: every period of each scope it belongs to (see <see cref="RedisKeys.BudgetSpent"/>).</summary>
internal static class SpendKeys
{
    /// <summary>
    /// The counters and their expiry (Unix seconds, 0 = none) for a request admitted at <paramref name="at"/>. The same
    /// for every request of a profile on one UTC day, so kept on the profile and built again when the day changes
    /// (measured: building them per request was ~2 KB of strings per settlement). Callers only read the arrays.
    /// </summary>
    public static (string[] Keys, long[] ExpireAt) For(LimitProfile profile, DateTimeOffset at)
    {
        var day = at.UtcDateTime.Date.Ticks;
        var cached = profile.SpendKeys;
        if (cached is not null && cached.Day == day)
        {
            return (cached.Keys, cached.ExpireAt);
        }

        var built = Build(profile, at, day);
        profile.SpendKeys = built;
        return (built.Keys, built.ExpireAt);
    }

    private static DaySpendKeys Build(LimitProfile profile, DateTimeOffset at, long dayTicks)
    {
        var day = RedisKeys.BudgetPeriodKey("daily", at);
        var month = RedisKeys.BudgetPeriodKey("monthly", at);
        var (dayExpiry, monthExpiry) = RedisKeys.BudgetPeriodExpiry(at);

        var scopes = 2 + profile.AncestorIds.Count;
        var keys = new string[scopes * 3];
        var expiry = new long[scopes * 3];
        var i = 0;
        void Add(string scope, string id)
        {
            keys[i] = RedisKeys.BudgetSpent(scope, id, "total");
            expiry[i++] = 0;
            keys[i] = RedisKeys.BudgetSpent(scope, id, day);
            expiry[i++] = dayExpiry;
            keys[i] = RedisKeys.BudgetSpent(scope, id, month);
            expiry[i++] = monthExpiry;
        }

        Add(RedisKeys.BudgetScopeCredential, profile.CredentialId);
        foreach (var ancestor in profile.AncestorIds)
        {
            Add(RedisKeys.BudgetScopeMinted, ancestor);
        }

        Add(RedisKeys.BudgetScopeOwner, profile.OwnerId);
        return new DaySpendKeys(dayTicks, keys, expiry);
    }
}

/// <summary>A profile's spend counters for one UTC day (<see cref="SpendKeys"/>).</summary>
internal sealed record DaySpendKeys(long Day, string[] Keys, long[] ExpireAt);
