using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Limits;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Limits;

/// <summary>The admission, settlement and renewal scripts against a real Redis: what two instances sharing it see.</summary>
public sealed class LimitScriptTests(LimitRedisFixture fixture) : IClassFixture<LimitRedisFixture>
{
    private readonly LimitHarness _limits = new(fixture.Client);

    private IDatabase Db => fixture.Client.GetDatabase();

    [Fact]
    public async Task Requests_per_minute_admit_exactly_the_limit_in_a_window_and_refusals_are_not_counted()
    {
        var (credential, results) = await LimitHarness.InOneWindowAsync(async () =>
        {
            var credential = LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 5 });
            var plan = _limits.Plan(credential);
            var results = new List<AdmitResult>();
            for (var i = 0; i < 8; i++)
            {
                results.Add((await _limits.AdmitAsync(plan)).Result);
            }

            return ((credential, results), results);
        });

        Assert.Equal([1L, 2, 3, 4, 5], results.Take(5).Select(r => r.Requests[0]));
        Assert.All(results.Take(5), r => Assert.Equal(LimitStatus.Admitted, r.Status));
        Assert.All(results.Skip(5), r =>
        {
            Assert.Equal(LimitStatus.RequestsPerMinute, r.Status);
            Assert.Equal(0, r.Subject);
            Assert.InRange(r.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(60));
        });

        var window = results[0].Window;
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds((window + 1) * 60_000), results[0].WindowReset);
        Assert.Equal(5, await _limits.LongAsync(LimitKeys.Base("cred", credential.Id) + ":rpm:" + window));
        Assert.InRange((await Db.KeyTimeToLiveAsync(LimitKeys.Base("cred", credential.Id) + ":rpm:" + window))!.Value, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(120));
    }

    [Fact]
    public async Task Tokens_per_minute_admit_while_below_the_limit_and_settlement_corrects_the_estimate_to_the_actual_count()
    {
        var (key, results) = await LimitHarness.InOneWindowAsync(async () =>
        {
            var credential = LimitHarness.Credential(new CredentialLimits { TokensPerMinute = 1000 });
            // Estimate: 400 bytes / 4 + max_tokens 400 = 500.
            var plan = _limits.Plan(credential, maxTokens: 400, bodyBytes: 400);
            Assert.Equal(500, plan.TokenEstimate);
            var (first, a) = await _limits.AdmitAsync(plan);
            var (_, b) = await _limits.AdmitAsync(plan);
            var (_, refused) = await _limits.AdmitAsync(plan);
            await _limits.SettleAsync(plan, first, a, actualTokens: 120, costNanoUsd: 0);
            var (_, afterCorrection) = await _limits.AdmitAsync(plan);
            return ((LimitKeys.Base("cred", credential.Id) + ":tpm:" + a.Window, new[] { a, b, refused, afterCorrection }), new[] { a, b, refused, afterCorrection });
        });

        Assert.Equal(500, results[0].Tokens[0]);
        Assert.Equal(1000, results[1].Tokens[0]);
        Assert.Equal(LimitStatus.TokensPerMinute, results[2].Status);
        Assert.Equal(1000, results[2].Tokens[0]);
        Assert.Equal(LimitStatus.Admitted, results[3].Status);
        Assert.Equal(120 + 500 + 500, results[3].Tokens[0]);
        Assert.Equal(1120, await _limits.LongAsync(key));
    }

    [Fact]
    public async Task Concurrency_slots_are_freed_at_settlement_and_the_leases_of_a_crashed_instance_expire()
    {
        var credential = LimitHarness.Credential(new CredentialLimits { MaxConcurrent = 2 });
        var plan = _limits.Plan(credential);
        var inflight = LimitKeys.InFlight(LimitKeys.Base("cred", credential.Id));

        var (first, a) = await _limits.AdmitAsync(plan);
        var (crashed, _) = await _limits.AdmitAsync(plan);
        var (_, refused) = await _limits.AdmitAsync(plan);
        Assert.Equal(LimitStatus.Concurrency, refused.Status);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);

        await _limits.SettleAsync(plan, first, a, 0, 0);
        var (third, afterSettle) = await _limits.AdmitAsync(plan);
        Assert.Equal(LimitStatus.Admitted, afterSettle.Status);
        Assert.Equal(LimitStatus.Concurrency, (await _limits.AdmitAsync(plan)).Result.Status);

        // The instance holding `crashed` died: nobody renews its lease, which has now run out.
        await Db.SortedSetAddAsync(inflight, crashed, 1);
        var (_, afterExpiry) = await _limits.AdmitAsync(plan);
        Assert.Equal(LimitStatus.Admitted, afterExpiry.Status);
        Assert.Null(await Db.SortedSetScoreAsync(inflight, crashed));
        Assert.NotNull(await Db.SortedSetScoreAsync(inflight, third));
    }

    [Fact]
    public async Task Keys_that_hold_leases_outlive_them_and_their_expiry_is_extended_only_when_less_than_a_lease_is_left()
    {
        var credential = LimitHarness.Credential(new CredentialLimits { MaxConcurrent = 10, BudgetUsd = 1000, TokensPerMinute = 1_000_000 });
        var plan = _limits.Plan(credential);
        var @base = LimitKeys.Base("cred", credential.Id);
        var lease = _limits.Options.LeaseDuration;

        var (_, first) = await _limits.AdmitAsync(plan);
        foreach (var key in new[] { LimitKeys.InFlight(@base), LimitKeys.Reserved(@base) })
        {
            Assert.InRange((await Db.KeyTimeToLiveAsync(key))!.Value, lease, lease * 2);
        }

        var tokens = @base + ":tpm:" + first.Window;
        Assert.InRange((await Db.KeyTimeToLiveAsync(tokens))!.Value, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(120));

        // More than a lease left: the next admission leaves the expiry alone (no write for Redis to propagate).
        await Db.KeyExpireAsync(LimitKeys.InFlight(@base), lease * 1.5);
        await Db.KeyExpireAsync(tokens, TimeSpan.FromSeconds(90));
        await _limits.AdmitAsync(plan);
        Assert.InRange((await Db.KeyTimeToLiveAsync(LimitKeys.InFlight(@base)))!.Value, lease, lease * 1.5);
        Assert.InRange((await Db.KeyTimeToLiveAsync(tokens))!.Value, TimeSpan.FromSeconds(80), TimeSpan.FromSeconds(90));

        // Less than a lease left, or none at all: two leases again, so the key outlives the lease just taken.
        await Db.KeyExpireAsync(LimitKeys.InFlight(@base), lease / 2);
        await Db.KeyPersistAsync(LimitKeys.Reserved(@base));
        await _limits.AdmitAsync(plan);
        foreach (var key in new[] { LimitKeys.InFlight(@base), LimitKeys.Reserved(@base) })
        {
            Assert.InRange((await Db.KeyTimeToLiveAsync(key))!.Value, lease * 1.9, lease * 2);
        }
    }

    [Fact]
    public async Task A_budget_admits_only_while_spend_plus_reservations_plus_the_worst_case_fit_and_settles_the_actual_cost()
    {
        var probe = _limits.Plan(LimitHarness.Credential());
        var worst = probe.WorstCaseNanoUsd;
        Assert.Equal(PriceTable.BuiltIn.Find(LimitHarness.Model)!.Price.WorstCaseNanoUsd(400 + 512, 400), worst);
        var budget = 3 * worst + worst / 2;
        var credential = LimitHarness.Credential(new CredentialLimits { BudgetUsd = budget / LimitSubject.NanoPerUsd, BudgetPeriod = "daily" });
        var plan = _limits.Plan(credential);
        var reserved = LimitKeys.Reserved(LimitKeys.Base("cred", credential.Id));

        var admitted = new List<(string Id, AdmitResult Result)>();
        for (var i = 0; i < 3; i++)
        {
            admitted.Add(await _limits.AdmitAsync(plan));
        }

        var (_, fourth) = await _limits.AdmitAsync(plan);
        Assert.All(admitted, a => Assert.Equal(LimitStatus.Admitted, a.Result.Status));
        // Nothing spent yet: the budget is held by the three in flight, not exhausted.
        Assert.Equal(LimitStatus.BudgetHeld, fourth.Status);
        Assert.Equal(3 * worst, (long)await Db.HashGetAsync(reserved, "#total"));

        const long cost = 1_234_567;
        await _limits.SettleAsync(plan, admitted[0].Id, admitted[0].Result, 500, cost);
        Assert.Equal(2 * worst, (long)await Db.HashGetAsync(reserved, "#total"));
        var day = RedisKeys.BudgetPeriodKey("daily", plan.At);
        var month = RedisKeys.BudgetPeriodKey("monthly", plan.At);
        foreach (var period in new[] { "total", day, month })
        {
            Assert.Equal(cost, await _limits.LongAsync(RedisKeys.BudgetSpent("cred", credential.Id, period)));
            Assert.Equal(cost, await _limits.LongAsync(RedisKeys.BudgetSpent("owner", credential.Owner.Id, period)));
        }

        Assert.Null(await Db.KeyTimeToLiveAsync(RedisKeys.BudgetSpent("cred", credential.Id, "total")));
        Assert.InRange((await Db.KeyTimeToLiveAsync(RedisKeys.BudgetSpent("cred", credential.Id, day)))!.Value, TimeSpan.FromHours(24), TimeSpan.FromHours(48));

        // cost + 2 × worst reserved + worst ≤ 3.5 × worst: fits again.
        var (lastId, last) = await _limits.AdmitAsync(plan);
        Assert.Equal(LimitStatus.Admitted, last.Status);
        Assert.Equal(LimitStatus.BudgetHeld, (await _limits.AdmitAsync(plan)).Result.Status);

        // Once what is spent leaves no room for the worst case, the budget is exhausted whatever is in flight.
        await _limits.SettleAsync(plan, lastId, last, 500, budget - cost - worst / 2);
        Assert.Equal(LimitStatus.Budget, (await _limits.AdmitAsync(plan)).Result.Status);
    }

    [Fact]
    public async Task Twenty_concurrent_admissions_against_a_budget_for_N_admit_exactly_N()
    {
        const int n = 7;
        var worst = _limits.Plan(LimitHarness.Credential()).WorstCaseNanoUsd;
        var credential = LimitHarness.Credential(new CredentialLimits { BudgetUsd = (n * worst + worst - 1) / LimitSubject.NanoPerUsd });
        var plan = _limits.Plan(credential);

        // Two stores on two connections: two gateway instances.
        using var second = await ConnectionMultiplexer.ConnectAsync(fixture.Redis.ConnectionString);
        var other = new LimitHarness(second);
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? _limits : other).AdmitAsync(plan, LimitHarness.NewRequestId())));

        Assert.Equal(n, results.Count(r => r.Status == LimitStatus.Admitted));
        Assert.All(results.Where(r => r.Status != LimitStatus.Admitted), r => Assert.Equal(LimitStatus.BudgetHeld, r.Status));
        Assert.Equal(n * worst, (long)await Db.HashGetAsync(LimitKeys.Reserved(LimitKeys.Base("cred", credential.Id)), "#total"));
    }

    [Fact]
    public async Task Tokens_minted_from_one_credential_share_its_limits_and_its_budget()
    {
        var parent = LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 4 });
        var children = Enumerable.Range(0, 2)
            .Select(_ => LimitHarness.Credential(parent.Limits, parent.Owner.Id, [LimitHarness.AncestorOf(parent)], CredentialKind.AgentToken))
            .ToArray();

        var results = await LimitHarness.InOneWindowAsync(async () =>
        {
            var results = new List<AdmitResult>();
            for (var i = 0; i < 6; i++)
            {
                results.Add((await _limits.AdmitAsync(_limits.Plan(children[i % 2]))).Result);
            }

            return (results, results);
        });

        Assert.Equal(4, results.Count(r => r.Status == LimitStatus.Admitted));
        Assert.All(results.Skip(4), r =>
        {
            Assert.Equal(LimitStatus.RequestsPerMinute, r.Status);
            Assert.Equal(1, r.Subject); // the parent, not the token itself (2 requests each)
        });

        // The parent's budget covers what its tokens spent.
        var worst = _limits.Plan(parent).WorstCaseNanoUsd;
        var budgeted = LimitHarness.Credential(new CredentialLimits { BudgetUsd = 2 * worst / LimitSubject.NanoPerUsd });
        var token = LimitHarness.Credential(budgeted.Limits, budgeted.Owner.Id, [LimitHarness.AncestorOf(budgeted)], CredentialKind.AgentToken);
        var tokenPlan = _limits.Plan(token);
        var (id, admitted) = await _limits.AdmitAsync(tokenPlan);
        await _limits.SettleAsync(tokenPlan, id, admitted, 900, worst);

        Assert.Equal(worst, await _limits.LongAsync(RedisKeys.BudgetSpent("minted", budgeted.Id, "total")));
        Assert.Equal(worst, await _limits.LongAsync(RedisKeys.BudgetSpent("cred", token.Id, "total")));
        Assert.Equal(0, await _limits.LongAsync(RedisKeys.BudgetSpent("cred", budgeted.Id, "total")));
        var budgetedPlan = _limits.Plan(budgeted);
        Assert.Equal(LimitStatus.Admitted, (await _limits.AdmitAsync(budgetedPlan)).Result.Status);
        var refused = (await _limits.AdmitAsync(budgetedPlan)).Result;
        Assert.Equal(LimitStatus.BudgetHeld, refused.Status);
    }

    [Fact]
    public async Task Nothing_is_charged_when_any_subject_refuses()
    {
        var owner = "org_" + Guid.NewGuid().ToString("N")[..12];
        var limits = new LimitHarness(fixture.Client, o => o.Owners[owner] = new LimitValues { RequestsPerMinute = 1 });
        var (results, first, second) = await LimitHarness.InOneWindowAsync(async () =>
        {
            var first = LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 10, MaxConcurrent = 5 }, owner);
            var second = LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 10, MaxConcurrent = 5 }, owner);
            var a = (await limits.AdmitAsync(limits.Plan(first))).Result;
            var b = (await limits.AdmitAsync(limits.Plan(second))).Result;
            return ((new[] { a, b }, first, second), new[] { a, b });
        });

        Assert.Equal(LimitStatus.Admitted, results[0].Status);
        Assert.Equal(LimitStatus.RequestsPerMinute, results[1].Status);
        Assert.Equal(1, results[1].Subject); // the owner
        Assert.Equal(1, await limits.LongAsync(LimitKeys.Base("cred", first.Id) + ":rpm:" + results[0].Window));
        Assert.Equal(0, await limits.LongAsync(LimitKeys.Base("cred", second.Id) + ":rpm:" + results[0].Window));
        Assert.Equal(0, await Db.SortedSetLengthAsync(LimitKeys.InFlight(LimitKeys.Base("cred", second.Id))));
    }

    [Fact]
    public async Task Budgets_wait_for_complete_spend_counters_when_required()
    {
        await using var isolated = await RedisIsolation.StartAsync();
        var limits = new LimitHarness(isolated.Client);
        var plan = limits.Plan(LimitHarness.Credential(new CredentialLimits { BudgetUsd = 100 }));
        var unlimited = limits.Plan(LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 100 }));

        Assert.Equal(LimitStatus.SpendNotRebuilt, (await limits.AdmitAsync(plan, LimitHarness.NewRequestId(), requireRebuiltSpend: true)).Status);
        Assert.Equal(LimitStatus.Admitted, (await limits.AdmitAsync(unlimited, LimitHarness.NewRequestId(), requireRebuiltSpend: true)).Status);
        Assert.Equal(LimitStatus.Admitted, (await limits.AdmitAsync(plan, LimitHarness.NewRequestId(), requireRebuiltSpend: false)).Status);

        await isolated.Client.GetDatabase().StringSetAsync(RedisKeys.BudgetSpentRebuilt, "rebuilt");
        Assert.Equal(LimitStatus.Admitted, (await limits.AdmitAsync(plan, LimitHarness.NewRequestId(), requireRebuiltSpend: true)).Status);
    }

    [Fact]
    public async Task Scripts_still_run_after_Redis_forgot_them()
    {
        var plan = _limits.Plan(LimitHarness.Credential(new CredentialLimits { MaxConcurrent = 3 }));
        var (id, first) = await _limits.AdmitAsync(plan);

        await fixture.Client.GetServer(fixture.Client.GetEndPoints()[0]).ScriptFlushAsync();

        Assert.Equal(LimitStatus.Admitted, (await _limits.AdmitAsync(plan)).Result.Status);
        await _limits.SettleAsync(plan, id, first, 10, 0);
        Assert.Equal(1, await Db.SortedSetLengthAsync(LimitKeys.InFlight(plan.Subjects[0].Base)));
    }

    [Fact]
    public async Task Renewal_extends_the_leases_of_requests_in_flight_and_never_revives_a_settled_one()
    {
        var plan = _limits.Plan(LimitHarness.Credential(new CredentialLimits { MaxConcurrent = 3 }));
        var inflight = LimitKeys.InFlight(plan.Subjects[0].Base);
        var (running, _) = await _limits.AdmitAsync(plan);
        var (settled, settledResult) = await _limits.AdmitAsync(plan);
        await _limits.SettleAsync(plan, settled, settledResult, 0, 0);
        await Db.SortedSetAddAsync(inflight, running, 1);

        var renewed = await _limits.Store.RenewAsync([(plan.Subjects[0].Base, running), (plan.Subjects[0].Base, settled)]);

        Assert.Equal(1, renewed);
        Assert.True(await Db.SortedSetScoreAsync(inflight, running) > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Null(await Db.SortedSetScoreAsync(inflight, settled));
    }

    [Fact]
    public async Task Count_tokens_requests_are_held_to_requests_and_concurrency_only()
    {
        var credential = LimitHarness.Credential(new CredentialLimits { TokensPerMinute = 1, BudgetUsd = 0, MaxConcurrent = 1 });
        var count = _limits.Plan(credential, metered: false);
        Assert.Equal(0, count.TokenEstimate);
        Assert.Equal(0, count.WorstCaseNanoUsd);

        var (id, admitted) = await _limits.AdmitAsync(count);
        Assert.Equal(LimitStatus.Admitted, admitted.Status);
        Assert.Equal(LimitStatus.Concurrency, (await _limits.AdmitAsync(count)).Result.Status);
        await _limits.SettleAsync(count, id, admitted, 0, 0);
        Assert.Equal(LimitStatus.Budget, (await _limits.AdmitAsync(_limits.Plan(credential))).Result.Status);
    }

    /// <summary>A Redis of a test's own, for state no other test may see (the spend-rebuilt marker).</summary>
    private sealed class RedisIsolation : IAsyncDisposable
    {
        private RedisIsolation(Infrastructure.RedisServer server, ConnectionMultiplexer client) => (Server, Client) = (server, client);

        public Infrastructure.RedisServer Server { get; }

        public ConnectionMultiplexer Client { get; }

        public static async Task<RedisIsolation> StartAsync()
        {
            var server = await Infrastructure.RedisServer.StartNewAsync();
            return new RedisIsolation(server, server.Connect());
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Server.DisposeAsync();
        }
    }
}
