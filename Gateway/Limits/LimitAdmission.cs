using LlmGateway.Contracts.Pricing;
using System.Diagnostics;
using System.Globalization;
using LlmGateway.Gateway.Admission;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// Admission and settlement against every limit of a request's credential, its ancestors and its owner: one Redis
/// script call each (<see cref="LimitScripts"/>; concurrent settlements share one, <see cref="SettlementBatcher"/>),
/// shared by every gateway instance; the fallback policies while Redis cannot be asked.
/// </summary>
/// <remarks>
/// Refusals: a rate or concurrency limit → 429 <c>rate_limit_error</c> with <c>retry-after</c> (the SDKs wait and
/// retry); a budget spent → 402 <c>billing_error</c> with <c>x-should-retry: false</c> (the SDKs never retry a 402, and
/// waiting would not help); a budget only held by requests in flight → 429 with <c>retry-after</c>; limits that cannot be checked under a fail-closed policy → 503 <c>api_error</c> with
/// <c>retry-after</c>; a model without a price for a budgeted credential → 400 <c>invalid_request_error</c>.
/// </remarks>
internal sealed partial class LimitAdmission(
    LimitPlanner planner,
    RedisLimitStore shared,
    LocalLimitStore local,
    PendingSpend pending,
    LeaseRegistry leases,
    QuotaLeasePool quota,
    LimitStoreState state,
    LimitTelemetry telemetry,
    PriceTable prices,
    IOptions<LimitOptions> options,
    ILogger<LimitAdmission> logger) : IRequestAdmission
{
    public const string BillingError = "billing_error";

    private readonly LimitOptions _options = options.Value;

    public async ValueTask<AdmissionDecision> AdmitAsync(AdmissionRequest request, CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return AdmissionDecision.Admit(null);
        }

        try
        {
            return await AdmitCoreAsync(request).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Never a 500: a request whose limits could not be evaluated is refused the way an outage refuses it.
            LogAdmitFailed(logger, request.RequestId, ex);
            Rejected("unavailable", null);
            return AdmissionDecision.Refuse(503, AnthropicErrors.Api, "Limits could not be checked for this request. Retry shortly.",
                _options.RedisRetryInterval);
        }
    }

    private async Task<AdmissionDecision> AdmitCoreAsync(AdmissionRequest request)
    {
        var plan = planner.Plan(request);
        if (plan.ChecksBudget && plan.Price is null)
        {
            Rejected("no_price", null);
            return AdmissionDecision.Refuse(400, AnthropicErrors.InvalidRequest,
                $"No price is configured for model '{plan.Model}', so the budget of this credential cannot be reserved (Pricing:Models).");
        }

        if (plan.Subjects.Length == 0)
        {
            return AdmissionDecision.Admit(new LimitTicket(plan, request.RequestId, TicketStore.None, 0));
        }

        // Budgets that fail closed are not spent from a lease while the connection to Redis is down either: the policy
        // refuses budgeted requests whenever their spend cannot be counted in Redis at once.
        if (quota.Enabled && (!plan.ChecksBudget || _options.RedisUnavailable.Budgets == BudgetFallback.Allow || shared.IsConnected)
            && quota.TryAdmit(plan, out var held, out var local))
        {
            telemetry.Admitted.Add(1, new KeyValuePair<string, object?>("llmgateway.limit.store", "lease"));
            return Decide(plan, request.RequestId, local, TicketStore.Lease, held);
        }

        if (state.ShouldTryRedis())
        {
            var requireMarker = _options.RequireRebuiltSpend && _options.RedisUnavailable.Budgets == BudgetFallback.Reject;
            AdmitResult result;
            try
            {
                result = await shared.AdmitAsync(plan, request.RequestId, requireMarker, quota.Enabled ? quota.InstanceId : null).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisLimitStore.IsUnavailable(ex))
            {
                state.Failed(ex.GetType().Name + ": " + ex.Message);
                return Fallback(plan, request.RequestId);
            }

            state.Succeeded();
            if (plan.ChecksBudget)
            {
                state.SpendCountersComplete(result.Status != LimitStatus.SpendNotRebuilt);
            }

            if (result.Status == LimitStatus.SpendNotRebuilt)
            {
                Rejected("unavailable", plan.Subjects[result.Subject]);
                return AdmissionDecision.Refuse(503, AnthropicErrors.Api,
                    "Budgets cannot be checked right now: the spend counters are being rebuilt after a Redis data loss. Retry shortly.",
                    _options.RedisRetryInterval * 5);
            }

            if (result.Grants is not null)
            {
                quota.Grant(plan, result, result.RedisNowMs);
                telemetry.LeasesTaken.Add(plan.Subjects.Length);
            }

            if (result.Status == LimitStatus.Admitted)
            {
                telemetry.Admitted.Add(1, new KeyValuePair<string, object?>("llmgateway.limit.store", "redis"));
            }

            return Decide(plan, request.RequestId, result, TicketStore.Redis);
        }

        return Fallback(plan, request.RequestId);
    }

    public async ValueTask SettleAsync(AdmissionTicket ticket, AdmissionOutcome outcome)
    {
        if (ticket is not LimitTicket limits || !limits.TrySettle())
        {
            return;
        }

        try
        {
            await SettleCoreAsync(limits, outcome).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Settlement must never fail the request: whatever it did not release expires with its lease.
            LogSettleFailed(logger, limits.RequestId, ex);
        }
    }

    private async Task SettleCoreAsync(LimitTicket ticket, AdmissionOutcome outcome)
    {
        var plan = ticket.Plan;
        var usage = outcome.Usage;
        var cost = 0L;
        if (plan.Metered && plan.Price is not null && usage.Reported && prices.TryGetPrice(plan.Model, outcome.Upstream, out var price))
        {
            // The price of the upstream that served it, as the UsageWorker records it (the plan reserved the dearest).
            cost = price.CostNanoUsd(usage.ToTokenUsage());
        }

        var tokenDelta = plan.Metered
            ? planner.CountedTokens(usage.InputTokens, usage.OutputTokens, usage.CacheCreationInputTokens, usage.CacheReadInputTokens) - plan.TokenEstimate
            : 0;

        if (ticket.Store == TicketStore.Lease)
        {
            SettleLeased(ticket, tokenDelta, cost);
            return;
        }

        IReadOnlyList<LimitSubject> release = [];
        switch (ticket.Store)
        {
            case TicketStore.Redis:
                leases.Remove(ticket);
                release = plan.Subjects;
                break;
            case TicketStore.Local:
                local.Settle(plan, ticket.Window, tokenDelta);
                break;
        }

        if (release.Count == 0 && cost <= 0)
        {
            return;
        }

        var (spendKeys, spendExpiry) = SpendKeys.For(plan.Profile, plan.At);
        await SendSettlementAsync(ticket.RequestId, cost, spendKeys, spendExpiry,
            RedisLimitStore.Entry(release, plan.Metered, ticket.RequestId, ticket.Window, tokenDelta, cost, spendKeys, spendExpiry)).ConfigureAwait(false);
    }

    /// <summary>
    /// A request admitted from quota leases gives its slot and the unused part of its reservation back to the leases in
    /// memory; Redis hears of it only when it cost money (moved from each budget lease into the spend counters) or used
    /// more tokens than it was charged for.
    /// </summary>
    private void SettleLeased(LimitTicket ticket, long tokenDelta, long cost)
    {
        var plan = ticket.Plan;
        var subjects = plan.Subjects;
        var overflow = 0L;
        var bases = new string[subjects.Length];
        var entries = new (long Requests, bool Tokens, long Slots, long NanoUsd)[subjects.Length];
        for (var i = 0; i < subjects.Length; i++)
        {
            var extra = ticket.Leases![i].Release(plan, subjects[i], ticket.Window, tokenDelta, cost);
            overflow = extra != 0 ? extra : overflow;
            bases[i] = subjects[i].Base;
            entries[i] = (0, extra != 0, 0, SubjectLease.Needs(plan, subjects[i]).Budget ? cost : 0);
        }

        if (overflow == 0 && cost <= 0)
        {
            return;
        }

        var (spendKeys, spendExpiry) = SpendKeys.For(plan.Profile, plan.At);
        // Not awaited: the slot and the unused reservation are back in the leases already and the cost was reserved
        // from the budget lease, so nothing the caller does next waits on Redis (awaiting it held the connection's next
        // request for a round trip). The entry is queued in the batcher before this returns, so it reaches Redis ahead of
        // any later give-back; a failure keeps the spend for replay as before.
        _ = SendInBackgroundAsync(ticket.RequestId, cost, spendKeys, spendExpiry,
            RedisLimitStore.LeaseEntry(quota.InstanceId, false, bases, ticket.Window, overflow, entries, cost, spendKeys, spendExpiry));
    }

    private async Task SendInBackgroundAsync(string requestId, long cost, string[] spendKeys, long[] spendExpiry, Settlement entry)
    {
        try
        {
            await SendSettlementAsync(requestId, cost, spendKeys, spendExpiry, entry).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogSettleFailed(logger, requestId, ex);
        }
    }

    private async Task SendSettlementAsync(string requestId, long cost, string[] spendKeys, long[] spendExpiry, Settlement entry)
    {
        if (state.ShouldTryRedis())
        {
            try
            {
                await shared.SendAsync(entry).ConfigureAwait(false);
                state.Succeeded();
                return;
            }
            catch (Exception ex) when (RedisLimitStore.IsUnavailable(ex))
            {
                state.Failed(ex.GetType().Name + ": " + ex.Message);
            }
        }

        // Slots and reservations held in Redis expire with their leases; the spend must not be lost.
        telemetry.Unsettled.Add(1);
        if (cost > 0 && !pending.Add(spendKeys, spendExpiry, cost))
        {
            LogPendingSpendFull(logger, requestId, _options.PendingSpendCapacity);
        }
    }

    private AdmissionDecision Fallback(LimitPlan plan, string requestId)
    {
        var policy = _options.RedisUnavailable;
        if (plan.ChecksBudget)
        {
            telemetry.Fallback.Add(1, new TagList { { "llmgateway.limit", "budget" }, { "llmgateway.policy", policy.Budgets == BudgetFallback.Reject ? "reject" : "allow" } });
            if (policy.Budgets == BudgetFallback.Reject)
            {
                Rejected("unavailable", null);
                return AdmissionDecision.Refuse(503, AnthropicErrors.Api,
                    "Budgets cannot be checked right now (the limit store is unavailable). Retry shortly.", _options.RedisRetryInterval);
            }
        }

        if (!plan.ChecksRates)
        {
            return AdmissionDecision.Admit(new LimitTicket(plan, requestId, TicketStore.None, 0));
        }

        telemetry.Fallback.Add(1, new TagList { { "llmgateway.limit", "rate" }, { "llmgateway.policy", policy.RateLimits == RateLimitFallback.Reject ? "reject" : "per_instance" } });
        if (policy.RateLimits == RateLimitFallback.Reject)
        {
            Rejected("unavailable", null);
            return AdmissionDecision.Refuse(503, AnthropicErrors.Api,
                "Rate limits cannot be checked right now (the limit store is unavailable). Retry shortly.", _options.RedisRetryInterval);
        }

        return Decide(plan, requestId, local.Admit(plan), TicketStore.Local);
    }

    private AdmissionDecision Decide(LimitPlan plan, string requestId, AdmitResult result, TicketStore store, SubjectLease[]? held = null)
    {
        var headers = Headers(plan, result);
        if (result.Status == LimitStatus.Admitted)
        {
            var ticket = new LimitTicket(plan, requestId, store, result.Window, held);
            if (store == TicketStore.Redis)
            {
                leases.Add(ticket);
            }

            return AdmissionDecision.Admit(ticket, headers);
        }

        var subject = plan.Subjects[result.Subject];
        var who = Describe(subject);
        var retryAfter = result.RetryAfter < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : result.RetryAfter;
        var seconds = Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        switch (result.Status)
        {
            case LimitStatus.RequestsPerMinute:
                Rejected("requests_per_minute", subject);
                return AdmissionDecision.Refuse(429, AnthropicErrors.RateLimit,
                    $"Rate limit exceeded: {who} allows {subject.RequestsPerMinute} requests per minute. Retry after {seconds} s.", retryAfter, headers);
            case LimitStatus.TokensPerMinute:
                Rejected("tokens_per_minute", subject);
                return AdmissionDecision.Refuse(429, AnthropicErrors.RateLimit,
                    $"Rate limit exceeded: {who} allows {subject.TokensPerMinute} tokens per minute (input and output; max_tokens counts until the response ends). Retry after {seconds} s.",
                    retryAfter, headers);
            case LimitStatus.Concurrency:
                Rejected("concurrency", subject);
                return AdmissionDecision.Refuse(429, AnthropicErrors.RateLimit,
                    $"Too many concurrent requests: {who} allows {subject.MaxConcurrent} at a time.", retryAfter, headers);
            case LimitStatus.BudgetHeld:
                // Nothing is spent yet that rules this request out: requests in flight hold reservations, released as
                // they finish. A 402 would tell the SDKs never to retry.
                Rejected("budget_held", subject);
                return AdmissionDecision.Refuse(429, AnthropicErrors.RateLimit,
                    $"Budget busy: the {PeriodName(subject.BudgetPeriod)} budget of {who} (USD {Usd(subject.BudgetNanoUsd)}) is held by requests still in flight " +
                    $"and cannot also cover this one, which may cost up to USD {Usd(plan.WorstCaseNanoUsd)} ({WorstCase(plan)}). Retry after {seconds} s.",
                    retryAfter, headers);
            default:
                Rejected("budget", subject);
                return AdmissionDecision.Refuse(402, BillingError,
                    $"Budget exhausted: the {PeriodName(subject.BudgetPeriod)} budget of {who} (USD {Usd(subject.BudgetNanoUsd)}) cannot cover this request, " +
                    $"which may cost up to USD {Usd(plan.WorstCaseNanoUsd)} ({WorstCase(plan)}).{ResetNote(subject.BudgetPeriod)}",
                    null, headers);
        }
    }

    /// <summary>The tightest requests/min and tokens/min limit: the fewest remaining (ties: the smaller limit).</summary>
    private static RateLimitHeaders? Headers(LimitPlan plan, AdmitResult result)
    {
        (long Limit, long Remaining)? requests = null;
        (long Limit, long Remaining)? tokens = null;
        for (var i = 0; i < plan.Subjects.Length; i++)
        {
            var subject = plan.Subjects[i];
            if (subject.RequestsPerMinute > 0)
            {
                var candidate = (subject.RequestsPerMinute, Math.Max(0, subject.RequestsPerMinute - result.Requests[i]));
                requests = Tighter(requests, candidate);
            }

            var tpm = plan.TokensPerMinuteOf(subject);
            if (tpm > 0)
            {
                tokens = Tighter(tokens, (tpm, Math.Max(0, tpm - result.Tokens[i])));
            }
        }

        return requests is null && tokens is null ? null : new RateLimitHeaders(requests, tokens, result.WindowReset);

        static (long, long) Tighter((long Limit, long Remaining)? current, (long Limit, long Remaining) candidate) =>
            current is not { } c || candidate.Remaining < c.Remaining || (candidate.Remaining == c.Remaining && candidate.Limit < c.Limit)
                ? candidate
                : c;
    }

    private void Rejected(string limit, LimitSubject? subject) =>
        telemetry.Rejected.Add(1, new TagList
        {
            { "llmgateway.limit", limit },
            { "llmgateway.limit.scope", subject?.Role switch { SubjectRole.Credential => "credential", SubjectRole.Ancestor => "ancestor", SubjectRole.Owner => "owner", _ => "none" } },
        });

    private static string Describe(LimitSubject subject) => subject.Role switch
    {
        SubjectRole.Credential => $"this credential ({subject.Id})",
        SubjectRole.Ancestor => $"credential {subject.Id}, which this token was minted from,",
        _ => $"owner {subject.Id}",
    };

    private static string PeriodName(string period) => period switch
    {
        "daily" => "daily",
        "monthly" => "monthly",
        _ => "total",
    };

    private static string WorstCase(LimitPlan plan) =>
        $"up to {plan.WorstCaseTokens.Input.ToString(CultureInfo.InvariantCulture)} input tokens, estimated from the body's size, " +
        $"and {plan.WorstCaseTokens.Output.ToString(CultureInfo.InvariantCulture)} output tokens, its max_tokens";

    private static string ResetNote(string period) => period switch
    {
        "daily" => " It resets at 00:00 UTC.",
        "monthly" => " It resets on the first of the month (UTC).",
        _ => "",
    };

    internal static string Usd(long nanoUsd) =>
        (nanoUsd / SubjectNano).ToString("0.######", CultureInfo.InvariantCulture);

    private const decimal SubjectNano = LimitSubject.NanoPerUsd;

    [LoggerMessage(1510, LogLevel.Error, "{RequestId}: checking limits failed")]
    private static partial void LogAdmitFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(1511, LogLevel.Error, "{RequestId}: settling limits failed; its slots expire with their leases")]
    private static partial void LogSettleFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(1512, LogLevel.Error, "{RequestId}: spend could not be kept for replay: {Capacity} counters are already pending while Redis is unavailable (Limits:PendingSpendCapacity)")]
    private static partial void LogPendingSpendFull(ILogger logger, string requestId, int capacity);
}
