using System.Diagnostics;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Limits;
using LlmGateway.Gateway.Redis;
using LlmGateway.Gateway.Tests.Infrastructure;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Limits;

/// <summary>Group commit of settlements (<see cref="SettlementBatcher"/>, <see cref="LimitScripts.SettleBatch"/>) on a real Redis.</summary>
public sealed class SettlementBatchTests(LimitRedisFixture fixture) : IClassFixture<LimitRedisFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly LimitHarness _limits = new(fixture.Client);

    private IDatabase Db => fixture.Client.GetDatabase();

    [Fact]
    public async Task Many_concurrent_settlements_release_every_lease_and_reservation_correct_the_tokens_and_add_every_cost()
    {
        const int count = 120;
        var (parent, token, plan, window, admitted) = await LimitHarness.InOneWindowAsync(async () =>
        {
            var parent = LimitHarness.Credential(new CredentialLimits { BudgetUsd = 1_000_000, TokensPerMinute = 100_000_000, MaxConcurrent = 500 });
            var token = LimitHarness.Credential(parent.Limits, parent.Owner.Id, [LimitHarness.AncestorOf(parent)], CredentialKind.AgentToken);
            var plan = _limits.Plan(token);
            var admitted = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => _limits.AdmitAsync(plan)));
            // Two settlement paths of one gateway: concurrent callers, most of them queued behind a call in flight.
            await Task.WhenAll(admitted.Select((a, i) => _limits.SettleAsync(plan, a.RequestId, a.Result, actualTokens: 100 + i, costNanoUsd: 1_000 + i)));
            return ((parent, token, plan, admitted[0].Result.Window, admitted), admitted.Select(a => a.Result));
        });

        Assert.All(admitted, a => Assert.Equal(LimitStatus.Admitted, a.Result.Status));
        var expectedCost = Enumerable.Range(0, count).Sum(i => 1_000L + i);
        var expectedTokens = Enumerable.Range(0, count).Sum(i => 100L + i);
        Assert.Equal(2, plan.Subjects.Length); // the token and the key it was minted from
        foreach (var subject in plan.Subjects)
        {
            Assert.Equal(0, await Db.SortedSetLengthAsync(LimitKeys.InFlight(subject.Base)));
            Assert.Equal(0, (long)await Db.HashGetAsync(LimitKeys.Reserved(subject.Base), "#total"));
            Assert.Equal(1, await Db.HashLengthAsync(LimitKeys.Reserved(subject.Base))); // only #total: every request's entry is gone
        }

        Assert.Equal(expectedTokens, await _limits.LongAsync(LimitKeys.Base("cred", token.Id) + ":tpm:" + window));
        Assert.Equal(expectedTokens, await _limits.LongAsync(LimitKeys.Base("cred", parent.Id) + ":tpm:" + window));
        var day = RedisKeys.BudgetPeriodKey("daily", plan.At);
        foreach (var period in new[] { "total", day, RedisKeys.BudgetPeriodKey("monthly", plan.At) })
        {
            Assert.Equal(expectedCost, await _limits.LongAsync(RedisKeys.BudgetSpent("cred", token.Id, period)));
            Assert.Equal(expectedCost, await _limits.LongAsync(RedisKeys.BudgetSpent("minted", parent.Id, period)));
            Assert.Equal(expectedCost, await _limits.LongAsync(RedisKeys.BudgetSpent("owner", token.Owner.Id, period)));
        }

        Assert.Null(await Db.KeyTimeToLiveAsync(RedisKeys.BudgetSpent("cred", token.Id, "total")));
        Assert.InRange((await Db.KeyTimeToLiveAsync(RedisKeys.BudgetSpent("minted", parent.Id, day)))!.Value, TimeSpan.FromHours(24), TimeSpan.FromHours(48));
    }

    [Fact]
    public async Task Settlements_issued_while_one_is_in_flight_are_sent_together_in_the_next_call()
    {
        var credential = LimitHarness.Credential(new CredentialLimits { BudgetUsd = 1_000_000, TokensPerMinute = 100_000_000, MaxConcurrent = 50 });
        var plan = _limits.Plan(credential);
        var runner = new GatedScriptRunner(_limits.Scripts);
        var store = new RedisLimitStore(runner, Microsoft.Extensions.Options.Options.Create(_limits.Options));
        var (window, admitted) = await LimitHarness.InOneWindowAsync(async () =>
        {
            var admitted = await Task.WhenAll(Enumerable.Range(0, 11).Select(_ => _limits.AdmitAsync(plan)));
            return ((admitted[0].Result.Window, admitted), admitted.Select(a => a.Result));
        });

        var release = runner.Hold();
        var first = Settle(store, plan, admitted[0].RequestId, admitted[0].Result, cost: 5);
        Assert.Single(runner.Calls); // sent at once: nothing was in flight
        var queued = admitted.Skip(1).Select((a, i) => Settle(store, plan, a.RequestId, a.Result, cost: 10 + i)).ToArray();
        Assert.Single(runner.Calls);
        Assert.All(queued, t => Assert.False(t.IsCompleted));

        release.SetResult();
        await first.WaitAsync(Deadline);
        await Task.WhenAll(queued).WaitAsync(Deadline);

        Assert.Equal(new long[] { 1, 10 }, runner.Calls.Select(c => c.Entries));
        Assert.All(runner.Calls, c => Assert.Same(LimitScripts.SettleBatch, c.Script));
        Assert.Equal(0, await Db.SortedSetLengthAsync(LimitKeys.InFlight(plan.Subjects[0].Base)));
        Assert.Equal(0, (long)await Db.HashGetAsync(LimitKeys.Reserved(plan.Subjects[0].Base), "#total"));
        Assert.Equal(11 * (plan.TokenEstimate + 50), await _limits.LongAsync(LimitKeys.Base("cred", credential.Id) + ":tpm:" + window));
        Assert.Equal(5 + Enumerable.Range(0, 10).Sum(i => 10L + i), await _limits.LongAsync(RedisKeys.BudgetSpent("cred", credential.Id, "total")));

        // Idle again: the next settlement goes alone, at once.
        var (id, result) = await _limits.AdmitAsync(plan);
        await Settle(store, plan, id, result, cost: 1).WaitAsync(Deadline);
        Assert.Equal(new long[] { 1, 10, 1 }, runner.Calls.Select(c => c.Entries));
    }

    [Fact]
    public async Task A_batch_holds_at_most_the_cap_and_the_rest_follow_in_the_next_call()
    {
        var credential = LimitHarness.Credential(new CredentialLimits { MaxConcurrent = 1000 });
        var plan = _limits.Plan(credential);
        var runner = new GatedScriptRunner(_limits.Scripts);
        var store = new RedisLimitStore(runner, Microsoft.Extensions.Options.Options.Create(_limits.Options));
        var admitted = await Task.WhenAll(Enumerable.Range(0, SettlementBatcher.MaxEntries + 41).Select(_ => _limits.AdmitAsync(plan)));

        var release = runner.Hold();
        var settled = admitted.Select(a => Settle(store, plan, a.RequestId, a.Result, cost: 0)).ToArray();
        release.SetResult();
        await Task.WhenAll(settled).WaitAsync(Deadline);

        Assert.Equal(new long[] { 1, SettlementBatcher.MaxEntries, 40 }, runner.Calls.Select(c => c.Entries));
        Assert.All(runner.Calls, c => Assert.InRange(c.Arguments, 1, SettlementBatcher.MaxArguments + 1));
        Assert.Equal(0, await Db.SortedSetLengthAsync(LimitKeys.InFlight(plan.Subjects[0].Base)));
    }

    [Fact]
    public async Task A_caller_waits_at_most_the_timeout_and_a_settlement_abandoned_before_it_was_sent_is_never_sent()
    {
        var plan = _limits.Plan(LimitHarness.Credential(new CredentialLimits { BudgetUsd = 1_000_000 }));
        var spent = RedisKeys.BudgetSpent("cred", plan.Subjects[0].Id, "total");
        var runner = new GatedScriptRunner(_limits.Scripts);
        var (heldId, held) = await _limits.AdmitAsync(plan);
        var (lateId, late) = await _limits.AdmitAsync(plan);

        // Through the store: queued behind a call that does not return, both callers give up after RedisTimeout.
        var impatient = new RedisLimitStore(runner, Microsoft.Extensions.Options.Options.Create(new LimitOptions { RedisTimeout = TimeSpan.FromMilliseconds(100) }));
        var release = runner.Hold();
        var first = Settle(impatient, plan, heldId, held, cost: 0);
        var second = Settle(impatient, plan, lateId, late, cost: 0);
        await Assert.ThrowsAsync<TimeoutException>(() => first.WaitAsync(Deadline));
        await Assert.ThrowsAsync<TimeoutException>(() => second.WaitAsync(Deadline));
        release.SetResult();

        // The batcher itself: an entry whose caller gave up before it was sent is skipped. (Fresh requests and a fresh
        // runner: the calls held above may still reach Redis.)
        (heldId, held) = await _limits.AdmitAsync(plan);
        (lateId, late) = await _limits.AdmitAsync(plan);
        runner = new GatedScriptRunner(_limits.Scripts);
        var batcher = new SettlementBatcher(runner, Deadline);
        release = runner.Hold();
        var (keys, expiry) = SpendKeys.For(plan.Profile, plan.At);
        var sent = batcher.SettleAsync(RedisLimitStore.Entry(plan.Subjects, plan.Metered, heldId, held.Window, 0, 7, keys, expiry));
        var abandoned = RedisLimitStore.Entry(plan.Subjects, plan.Metered, lateId, late.Window, 0, 1_000, keys, expiry);
        _ = batcher.SettleAsync(abandoned);
        Assert.True(abandoned.TryAbandon());
        release.SetResult();
        await sent.WaitAsync(Deadline);
        var (nextId, next) = await _limits.AdmitAsync(plan);
        await batcher.SettleAsync(RedisLimitStore.Entry(plan.Subjects, plan.Metered, nextId, next.Window, 0, 3, keys, expiry)).WaitAsync(Deadline);

        Assert.Equal(new long[] { 1, 1 }, runner.Calls.Select(c => c.Entries));
        Assert.Equal(7 + 3, await _limits.LongAsync(spent));
        Assert.NotNull(await Db.SortedSetScoreAsync(LimitKeys.InFlight(plan.Subjects[0].Base), lateId));
        Assert.Null(await Db.SortedSetScoreAsync(LimitKeys.InFlight(plan.Subjects[0].Base), nextId));
    }

    [Fact]
    public async Task A_failing_Redis_fails_every_queued_settlement_and_the_next_one_after_recovery_works()
    {
        await using var server = await RedisServer.StartNewAsync();
        using var client = server.Connect();
        var limits = new LimitHarness(client);
        var runner = new GatedScriptRunner(limits.Scripts);
        var store = new RedisLimitStore(runner, Microsoft.Extensions.Options.Options.Create(limits.Options));
        var plan = limits.Plan(LimitHarness.Credential(new CredentialLimits { BudgetUsd = 1_000_000, MaxConcurrent = 50 }));
        var admitted = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => limits.AdmitAsync(plan)));

        var release = runner.Hold();
        var settled = admitted.Select(a => Settle(store, plan, a.RequestId, a.Result, cost: 100)).ToArray();
        await server.StopAsync();
        release.SetResult();

        foreach (var settlement in settled)
        {
            var failure = await Assert.ThrowsAnyAsync<Exception>(() => settlement.WaitAsync(Deadline));
            Assert.True(RedisLimitStore.IsUnavailable(failure), failure.ToString());
        }

        Assert.Equal(2, runner.Calls.Count); // the one in flight, then everything queued behind it

        await server.StartAsync();
        // The connection refuses commands for a moment after a failed attempt: wait for it to answer again.
        using var timeout = new CancellationTokenSource(Deadline);
        (string Id, AdmitResult Result) after;
        while (true)
        {
            try
            {
                after = await limits.AdmitAsync(plan);
                break;
            }
            catch (Exception ex) when (RedisLimitStore.IsUnavailable(ex) && !timeout.IsCancellationRequested)
            {
                await Task.Delay(50, timeout.Token);
            }
        }

        var (againId, again) = await limits.AdmitAsync(plan);
        await Task.WhenAll(Settle(store, plan, after.Id, after.Result, cost: 11), Settle(store, plan, againId, again, cost: 22)).WaitAsync(Deadline);
        var inflight = LimitKeys.InFlight(plan.Subjects[0].Base);
        var (afterScore, againScore, spent) = await ConnectedAsync(async () => (
            await client.GetDatabase().SortedSetScoreAsync(inflight, after.Id),
            await client.GetDatabase().SortedSetScoreAsync(inflight, againId),
            await limits.LongAsync(RedisKeys.BudgetSpent("cred", plan.Subjects[0].Id, "total"))));
        Assert.Null(afterScore);
        Assert.Null(againScore);
        // The failed settlements never reached Redis (it was stopped before they were sent).
        Assert.Equal(33, spent);
    }

    [Fact]
    public async Task Lease_settlements_linger_to_share_a_call_and_an_awaited_settlement_takes_them_along_at_once()
    {
        var linger = TimeSpan.FromSeconds(1);
        var runner = new RecordingScriptRunner();
        var batcher = new SettlementBatcher(runner, Deadline, linger);
        var plan = _limits.Plan(LimitHarness.Credential(new CredentialLimits { BudgetUsd = 1_000 }));
        var (keys, expiry) = SpendKeys.For(plan.Profile, plan.At);
        Settlement LeaseCost(long nanoUsd) => RedisLimitStore.LeaseEntry(
            "instance-a", false, [plan.Subjects[0].Base], 7, 0, [(0, false, 0, nanoUsd)], nanoUsd, keys, expiry);

        // Requests admitted from leases: nobody waits for their settlement, so it waits for company.
        var started = Stopwatch.GetTimestamp();
        var lingering = new[] { LeaseCost(10), LeaseCost(20), LeaseCost(30) }.Select(batcher.SettleAsync).ToArray();
        Assert.Empty(runner.Calls);
        await Task.WhenAll(lingering).WaitAsync(Deadline);
        Assert.True(Stopwatch.GetElapsedTime(started) >= linger * 0.9, "sent before the linger ended");
        var call = Assert.Single(runner.Calls);
        Assert.Equal(1, (long)call[0]); // one credential's leases: folded into one entry
        Assert.Equal(60, (long)call[10]); // its nano-USD, summed

        // An awaited settlement does not linger: it goes at once, after what was lingering.
        var lease = batcher.SettleAsync(LeaseCost(5));
        var awaited = batcher.SettleAsync(RedisLimitStore.Entry(plan.Subjects, plan.Metered, "req_awaited", 7, 0, 1, keys, expiry));
        Assert.Equal(2, runner.Calls.Count);
        Assert.Equal(2, (long)runner.Calls[1][0]);
        Assert.Equal("@instance-a", (string?)runner.Calls[1][1]);
        Assert.Contains(runner.Calls[1], v => (string?)v == "req_awaited");
        await Task.WhenAll(lease, awaited).WaitAsync(Deadline);
        await Task.Delay(linger * 1.5);
        Assert.Equal(2, runner.Calls.Count); // the ended linger sends nothing more
    }

    /// <summary>Records each call's arguments and answers at once, without Redis.</summary>
    private sealed class RecordingScriptRunner : ScriptRunner
    {
        private readonly List<RedisValue[]> _calls = [];

        public IReadOnlyList<RedisValue[]> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls];
                }
            }
        }

        public override bool IsAvailable => true;

        public override bool IsConnected => true;

        public override Task<RespReply> EvaluateAsync(RedisScript script, RedisKey[] keys, RedisValue[] values)
        {
            lock (_calls)
            {
                _calls.Add((RedisValue[])values.Clone());
            }

            return Task.FromResult(RespReply.Nil);
        }
    }

    /// <summary>Reads through the multiplexer, which reconnects on its own schedule after a restart.</summary>
    private static async Task<T> ConnectedAsync<T>(Func<Task<T>> read)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        while (true)
        {
            try
            {
                return await read();
            }
            catch (RedisConnectionException) when (!timeout.IsCancellationRequested)
            {
                await Task.Delay(50, timeout.Token);
            }
        }
    }

    private static Task Settle(RedisLimitStore store, LimitPlan plan, string requestId, AdmitResult admitted, long cost)
    {
        var (keys, expiry) = SpendKeys.For(plan.Profile, plan.At);
        // Actual tokens: estimate + 50 (so the window gains 50 per settled request).
        return store.SettleAsync(plan.Subjects, plan.Metered, requestId, admitted.Window, 50, cost, keys, expiry);
    }

    /// <summary>Counts script calls and can hold them at a gate (a call in flight for as long as a test needs).</summary>
    private sealed class GatedScriptRunner(ScriptRunner inner) : ScriptRunner
    {
        private TaskCompletionSource? _gate;

        public List<(RedisScript Script, long Entries, int Arguments)> Calls { get; } = [];

        public override bool IsAvailable => inner.IsAvailable;

        public override bool IsConnected => inner.IsConnected;

        /// <summary>Calls from now on wait until the returned source is completed.</summary>
        public TaskCompletionSource Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task<RespReply> EvaluateAsync(RedisScript script, RedisKey[] keys, RedisValue[] values)
        {
            lock (Calls)
            {
                Calls.Add((script, (long)values[0], keys.Length + values.Length));
            }

            if (_gate is { } gate)
            {
                await gate.Task;
            }

            return await inner.EvaluateAsync(script, keys, values);
        }
    }
}
