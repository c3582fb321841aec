using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Limits;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Limits;

/// <summary>
/// Quota leases (<see cref="LeaseOptions"/>) with two gateway instances' admission on one real Redis: far from a limit
/// most requests are admitted in memory, together the instances never pass a limit, and whatever a lease held comes back
/// (given back when idle, or freed when its instance stops renewing it).
/// </summary>
public sealed class QuotaLeaseTests(LimitRedisFixture fixture) : IClassFixture<LimitRedisFixture>, IDisposable
{
    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly IConnectionMultiplexer _redis = fixture.Client;

    public void Dispose() => _metrics.Dispose();

    private IDatabase Db => fixture.Client.GetDatabase();

    /// <summary>One gateway instance's admission and upkeep over its own Redis connection.</summary>
    private sealed class Instance
    {
        public Instance(QuotaLeaseTests test, Action<LimitOptions>? configure = null)
        {
            Harness = new LimitHarness(test._redis, configure);
            var options = Options.Create(Harness.Options);
            var time = TimeProvider.System;
            var telemetry = new LimitTelemetry(test._metrics.GetRequiredService<IMeterFactory>());
            var pending = new PendingSpend(options);
            var registry = new LeaseRegistry();
            var state = new LimitStoreState(Harness.Scripts, options, time, NullLogger<LimitStoreState>.Instance);
            Pool = new QuotaLeasePool(options, time);
            Admission = new LimitAdmission(Harness.Planner, Harness.Store, new LocalLimitStore(options, time), pending, registry, Pool, state, telemetry,
                PriceTable.BuiltIn, options, NullLogger<LimitAdmission>.Instance);
            Maintenance = new LimitMaintenance(Harness.Store, registry, Pool, telemetry, pending, state, options, time, NullLogger<LimitMaintenance>.Instance);
        }

        public LimitHarness Harness { get; }

        public QuotaLeasePool Pool { get; }

        public LimitAdmission Admission { get; }

        public LimitMaintenance Maintenance { get; }

        public async Task<(AdmissionDecision Decision, LimitTicket? Ticket)> AdmitAsync(CredentialProjection credential, int maxTokens = 100)
        {
            var decision = await Admission.AdmitAsync(
                new AdmissionRequest(LimitHarness.NewRequestId(), credential, "/v1/messages", LimitHarness.Model, maxTokens, false, 200), CancellationToken.None);
            return (decision, decision.Ticket as LimitTicket);
        }

        public ValueTask SettleAsync(LimitTicket ticket, long input, long output) =>
            Admission.SettleAsync(ticket, new AdmissionOutcome(
                new Streaming.ResponseUsage { InputTokens = input, OutputTokens = output, Reported = true }, false, 200, null, "anthropic"));
    }

    private static long Cost(long input, long output) =>
        PriceTable.BuiltIn.Find(LimitHarness.Model)!.Price.CostNanoUsd(new TokenUsage(input, output));

    private async Task<HashEntry[]> LeaseHashAsync(CredentialProjection credential) =>
        await Db.HashGetAllAsync(LimitKeys.Base("cred", credential.Id) + ":lease");

    private Task<long> LeasedAsync(CredentialProjection credential, string field) =>
        Db.HashGetAsync(LimitKeys.Base("cred", credential.Id) + ":lease", field).ContinueWith(t => (long?)t.Result ?? 0);

    [Fact]
    public async Task Far_from_every_limit_most_requests_are_admitted_from_the_lease_and_the_counters_end_exact()
    {
        var instance = new Instance(this);
        var credential = LimitHarness.Credential(new CredentialLimits
        {
            RequestsPerMinute = 1_000_000, TokensPerMinute = 1_000_000_000, MaxConcurrent = 10_000, BudgetUsd = 1_000,
        });

        var (costs, windows, stores) = (0L, new HashSet<long>(), new List<TicketStore>());
        for (var i = 0; i < 300; i++)
        {
            var (decision, ticket) = await instance.AdmitAsync(credential);
            Assert.True(decision.Admitted);
            stores.Add(ticket!.Store);
            windows.Add(ticket.Window);
            await instance.SettleAsync(ticket, 40, 60);
            costs += Cost(40, 60);
        }

        // The first request takes the lease; nearly all others come from it (a minute boundary takes a new one).
        Assert.Equal(TicketStore.Redis, stores[0]);
        Assert.True(stores.Count(s => s == TicketStore.Lease) >= 290, $"{stores.Count(s => s == TicketStore.Lease)} of 300 from the lease");

        // Every cost reaches the spend counter: a leased request's cost is sent with the next settlement batch, not
        // awaited by the request (its reservation already held that money in the budget lease).
        var spent = Contracts.RedisKeys.BudgetSpent("cred", credential.Id, "total");
        for (var wait = Stopwatch.StartNew(); await instance.Harness.LongAsync(spent) != costs && wait.Elapsed < TimeSpan.FromSeconds(5);)
        {
            await Task.Delay(10);
        }

        Assert.Equal(costs, await instance.Harness.LongAsync(spent));
        // Giving the lease back leaves exactly what was used counted.
        await instance.Maintenance.ReturnQuotaAsync(all: true);
        // Only the totals are left, at zero.
        Assert.All(await LeaseHashAsync(credential), e => Assert.StartsWith("#", e.Name.ToString(), StringComparison.Ordinal));
        Assert.Equal(0, await LeasedAsync(credential, "#c"));
        Assert.Equal(0, await LeasedAsync(credential, "#b"));
        Assert.Equal(0, await Db.SortedSetLengthAsync(LimitKeys.Base("cred", credential.Id) + ":leases"));
        if (windows.Count == 1)
        {
            var window = windows.Single();
            Assert.Equal(300, await instance.Harness.LongAsync(LimitKeys.Base("cred", credential.Id) + ":rpm:" + window));
            // Each request's estimate (200 bytes / 4 + 100) corrected to the 100 tokens it used: 300 × 100.
            Assert.Equal(300 * 100, await instance.Harness.LongAsync(LimitKeys.Base("cred", credential.Id) + ":tpm:" + window));
        }
    }

    [Fact]
    public async Task Near_a_limit_no_lease_is_granted_and_requests_are_admitted_one_by_one()
    {
        var instance = new Instance(this);
        var credential = LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 100 });
        for (var i = 0; i < 5; i++)
        {
            var (decision, ticket) = await instance.AdmitAsync(credential);
            Assert.True(decision.Admitted);
            Assert.Equal(TicketStore.Redis, ticket!.Store);
            await instance.SettleAsync(ticket, 1, 1);
        }

        // 100 per minute leaves less than 16 × 8 requests of headroom: no lease.
        Assert.Equal(0, instance.Pool.Count);
        Assert.Empty(await LeaseHashAsync(credential));
    }

    [Fact]
    public async Task Two_instances_admitting_concurrently_never_pass_a_requests_per_minute_limit_and_nothing_stays_counted_unused()
    {
        const int limit = 3_000;
        var (admitted, counted) = await LimitHarness.InOneWindowAsync(async () =>
        {
            var a = new Instance(this);
            var b = new Instance(this);
            var credential = LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = limit });
            var results = await Task.WhenAll(Enumerable.Range(0, 4_000).Select(async i =>
            {
                var instance = i % 2 == 0 ? a : b;
                await Task.Yield();
                var (decision, ticket) = await instance.AdmitAsync(credential);
                if (ticket is not null)
                {
                    await instance.SettleAsync(ticket, 1, 1);
                }

                return (decision.Admitted, Window: ticket?.Window);
            }));

            var admitted = results.Count(r => r.Admitted);
            var window = results.First(r => r.Window is not null).Window!.Value;
            await a.Maintenance.ReturnQuotaAsync(all: true);
            await b.Maintenance.ReturnQuotaAsync(all: true);
            var counted = await a.Harness.LongAsync(LimitKeys.Base("cred", credential.Id) + ":rpm:" + window);
            return ((admitted, counted), results.Where(r => r.Window is not null).Select(r => new AdmitResult(LimitStatus.Admitted, -1, default, default, r.Window!.Value, [], [])));
        });

        Assert.InRange(admitted, 1, limit);
        // Quota the leases held unused was given back: Redis counts exactly the requests admitted.
        Assert.Equal(admitted, counted);
        // Refusals only come with less than a lease's share of the limit still unused somewhere.
        Assert.True(admitted >= limit - 2 * (limit / 16), $"{admitted} admitted of {limit}");
    }

    [Fact]
    public async Task Two_instances_hold_at_most_the_concurrency_limit_and_a_lease_frees_its_slots_when_given_back()
    {
        const int limit = 400;
        var a = new Instance(this);
        var b = new Instance(this);
        var credential = LimitHarness.Credential(new CredentialLimits { MaxConcurrent = limit });
        var held = new List<(Instance Instance, LimitTicket Ticket)>();
        var refused = 0;
        for (var i = 0; i < 600; i++)
        {
            var instance = i % 2 == 0 ? a : b;
            var (decision, ticket) = await instance.AdmitAsync(credential);
            if (ticket is null)
            {
                refused++;
                Assert.Equal(429, decision.Status);
            }
            else
            {
                held.Add((instance, ticket));
            }
        }

        Assert.InRange(held.Count, 1, limit);
        Assert.Contains(held, h => h.Ticket.Store == TicketStore.Lease);
        foreach (var (instance, ticket) in held)
        {
            await instance.SettleAsync(ticket, 1, 1);
        }

        await a.Maintenance.ReturnQuotaAsync(all: true);
        await b.Maintenance.ReturnQuotaAsync(all: true);
        Assert.Equal(0, await LeasedAsync(credential, "#c"));
        Assert.Equal(0, await Db.SortedSetLengthAsync(LimitKeys.Base("cred", credential.Id) + ":inflight"));
        // All of it free again: a third instance gets the whole limit.
        var c = new Instance(this, o => o.Leases.Enabled = false);
        for (var i = 0; i < limit; i++)
        {
            Assert.True((await c.AdmitAsync(credential)).Decision.Admitted);
        }

        Assert.False((await c.AdmitAsync(credential)).Decision.Admitted);
    }

    [Fact]
    public async Task Two_instances_spending_a_budget_concurrently_never_pass_it_and_every_cost_is_counted()
    {
        var a = new Instance(this);
        var b = new Instance(this);
        // 100 max_tokens and 200 bytes reserve about 0.0012 USD at Haiku 4.5's prices: 2 USD is ~1,600 worst cases.
        var budgetUsd = 2m;
        var credential = LimitHarness.Credential(new CredentialLimits { BudgetUsd = budgetUsd });
        var worst = a.Harness.Plan(credential, maxTokens: 100, bodyBytes: 200).WorstCaseNanoUsd;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 2_500).Select(async i =>
        {
            var instance = i % 2 == 0 ? a : b;
            await Task.Yield();
            var (decision, ticket) = await instance.AdmitAsync(credential);
            if (ticket is null)
            {
                return (Cost: 0L, Leased: false, decision.Status);
            }

            // Each uses all it may (the reservation was sized from these tokens' upper bound).
            var (input, output) = (250L, 100L);
            await instance.SettleAsync(ticket, input, output);
            return (Cost: Cost(input, output), Leased: ticket.Store == TicketStore.Lease, decision.Status);
        }));

        var spent = outcomes.Sum(o => o.Cost);
        var budgetNano = (long)(budgetUsd * LimitSubject.NanoPerUsd);
        Assert.True(spent <= budgetNano, $"spent {spent} of {budgetNano}");
        Assert.Contains(outcomes, o => o.Leased);
        Assert.Contains(outcomes, o => o.Status is 402 or 429);
        Assert.Equal(spent, await a.Harness.LongAsync(Contracts.RedisKeys.BudgetSpent("cred", credential.Id, "total")));
        await a.Maintenance.ReturnQuotaAsync(all: true);
        await b.Maintenance.ReturnQuotaAsync(all: true);
        Assert.Equal(0, await LeasedAsync(credential, "#b"));
        Assert.True(worst > 0);
    }

    [Fact]
    public async Task The_lease_of_an_instance_that_stops_renewing_it_expires_and_frees_its_slots_for_the_others()
    {
        var crashed = new Instance(this, o => o.Leases.Duration = TimeSpan.FromSeconds(1));
        var credential = LimitHarness.Credential(new CredentialLimits { MaxConcurrent = 1_000 });
        var (first, ticket) = await crashed.AdmitAsync(credential);
        Assert.True(first.Admitted);
        Assert.True(await LeasedAsync(credential, "#c") > 0);

        // It never settles, renews or gives back; after the lease's duration the next admission ends it.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var other = new Instance(this, o => o.Leases.Enabled = false);
        Assert.True((await other.AdmitAsync(credential)).Decision.Admitted);
        Assert.Equal(0, await LeasedAsync(credential, "#c"));
        Assert.Equal(0, await Db.SortedSetLengthAsync(LimitKeys.Base("cred", credential.Id) + ":leases"));
        Assert.NotNull(ticket);
    }

    [Fact]
    public async Task The_admin_view_lists_what_each_instance_holds()
    {
        var a = new Instance(this);
        var credential = LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 100_000, MaxConcurrent = 10_000 });
        var (_, ticket) = await a.AdmitAsync(credential);
        var plan = a.Harness.Plan(credential);
        var (_, usage) = await a.Harness.Store.ReadAsync(plan.Subjects, DateTimeOffset.UtcNow);
        var lease = Assert.Single(usage[0].Leases);
        Assert.Equal(a.Pool.InstanceId, lease.Instance);
        Assert.True(lease.Requests > 0);
        Assert.True(lease.Slots > 0);
        Assert.Equal(0, lease.NanoUsd);
        Assert.True(lease.Expires > DateTimeOffset.UtcNow);
        await a.SettleAsync(ticket!, 1, 1);
        await a.Maintenance.ReturnQuotaAsync(all: true);
        Assert.Empty((await a.Harness.Store.ReadAsync(plan.Subjects, DateTimeOffset.UtcNow)).Usage[0].Leases);
        Assert.Equal(0, a.Pool.Count);
    }

    [Fact]
    public void Settlements_from_the_same_leases_in_one_batch_are_summed_into_one_entry_and_others_are_sent_as_they_are()
    {
        string[] bases = ["lgw:limit:cred:a", "lgw:limit:org:o"];
        var (keys, expiry) = (new[] { "spent:a", "spent:o" }, new long[] { 0, 0 });
        Settlement Leased(long delta, long cost) => RedisLimitStore.LeaseEntry("gw/1", false, bases, 42, delta,
            [(0, delta != 0, 0, cost), (0, false, 0, 0)], cost, keys, expiry);
        var request = RedisLimitStore.Entry([], true, "req_1", 42, 0, 5, keys, expiry);
        var otherWindow = RedisLimitStore.LeaseEntry("gw/1", false, bases, 43, 0, [(0, false, 0, 7), (0, false, 0, 0)], 7, keys, expiry);
        var first = Leased(0, 100);

        var entries = SettlementBatcher.Merge([first, Leased(0, 250), request, Leased(0, 50), otherWindow, Leased(30, 10)]);

        // The three alike are one entry; a different window, a token delta (another flag) and a request stay apart.
        Assert.Equal(4, entries.Count);
        var sum = entries[0];
        Assert.Equal(400, (long)sum.Values[6]);
        Assert.Equal(400, (long)sum.Values[10]);
        Assert.Equal(0, (long)sum.Values[14]);
        Assert.Same(request, entries[1]);
        Assert.Equal("43", (string?)entries[2].Values[2]);
        Assert.Equal(7, (long)entries[2].Values[6]);
        Assert.Equal((30L, 10L), ((long)entries[3].Values[3], (long)entries[3].Values[6]));
        // The entries themselves are left as they were (their callers may be retried with them).
        Assert.Equal(100, (long)first.Values[6]);
    }
}
