using System.Diagnostics;
using LlmGateway.Contracts;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Tests.Integration;

[Collection(UsageAppCollection.Name)]
public sealed class FailureTests(UsageAppFixture fixture)
{
    [Fact]
    public async Task A_worker_killed_in_the_middle_of_a_batch_leaves_exactly_N_rows()
    {
        const int n = 30_000;
        var now = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(0, n).Select(i => new TestEvent($"kill-{i}", now, $"kill-cred-{i % 7}", Input: i % 1000, Output: 1 + i % 300)).ToList();
        // Still being added while the replicas consume: the window in which a batch is in flight spans the whole append.
        var adding = fixture.AddEventsAsync(events.Select(e => e.Fields()));

        // Wait until a replica holds entries it has read but not yet acknowledged (a batch in flight, and the next
        // ones prefetched), then kill that replica without warning.
        int? victim = null;
        long victimPending = 0;
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            // In the middle: some batches are stored already. The workers get through 30,000 entries in about a second,
            // so this polls quickly; a poll that comes too late would find nothing pending any more.
            if (await fixture.CountRowsAsync("kill-") == 0)
            {
                return false;
            }

            var consumers = (RedisResult[])(await fixture.Db.ExecuteAsync("XINFO", "CONSUMERS", RedisKeys.UsageStream, RedisKeys.UsageConsumerGroup))!;
            foreach (var consumer in consumers.Select(c => (string[])c!))
            {
                var pending = long.Parse(consumer[3], System.Globalization.CultureInfo.InvariantCulture);
                var holder = fixture.WorkerProcesses.Cast<int?>()
                    .FirstOrDefault(pid => consumer[1].EndsWith("-" + pid, StringComparison.Ordinal));
                if (pending > 0 && holder is not null)
                {
                    (victim, victimPending) = (holder, pending);
                    return true;
                }
            }

            return false;
        }, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(5)), "no replica was caught with a batch in flight");

        await adding;
        var pid = victim!.Value;
        using (var process = Process.GetProcessById(pid))
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        // The other replica (and the restarted one) take its entries over: nothing lost, nothing doubled.
        await fixture.WaitForStoredAsync("kill-", n, TimeSpan.FromSeconds(120));
        Assert.Equal(n, await fixture.CountRowsAsync("kill-"));
        Assert.Equal(n, await fixture.ScalarAsync<long>("SELECT sum(requests) FROM usage_hourly WHERE credential_id LIKE 'kill-cred-%'"));
        Assert.Equal(n, await fixture.ScalarAsync<long>("SELECT sum(requests) FROM usage_daily WHERE credential_id LIKE 'kill-cred-%'"));
        Assert.Equal(events.Sum(e => e.ExpectedCostNanoUsd()), await fixture.ScalarAsync<long>("SELECT sum(cost_nano_usd) FROM usage_daily WHERE credential_id LIKE 'kill-cred-%'"));
        Assert.Equal(events.Sum(e => e.Input), await fixture.ScalarAsync<long>("SELECT sum(input_tokens) FROM usage_hourly WHERE credential_id LIKE 'kill-cred-%'"));
        Assert.True(victimPending > 0);

        // The killed replica is started again.
        Assert.True(await Eventually.TrueAsync(
            () => Task.FromResult(fixture.WorkerProcesses is [var a, var b] && a != pid && b != pid && a != 0 && b != 0),
            TimeSpan.FromSeconds(60)), "the killed worker was not restarted");
        // Console output of the workers reaches the AppHost asynchronously: wait for the line rather than race it.
        Assert.True(await Eventually.TrueAsync(
            () => Task.FromResult(fixture.App.GetLogs("usageworker").Any(line => line.Contains("Took over", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(30)), "no worker logged that it took the killed worker's entries over");
    }

    [Fact]
    public async Task PostgreSQL_stopped_for_a_while_under_traffic_then_exactly_N_rows_and_nothing_dead_lettered()
    {
        var now = DateTimeOffset.UtcNow;
        var deadBefore = await DeadLetterCountAsync();
        await fixture.AddEventsAsync(Enumerable.Range(0, 200).Select(i => new TestEvent($"pgdown-{i}", now, "pgdown-cred").Fields()));
        await fixture.App.StopResourceAsync("postgres");
        try
        {
            // Traffic keeps arriving while the database is away.
            for (var burst = 0; burst < 5; burst++)
            {
                await fixture.AddEventsAsync(Enumerable.Range(0, 400).Select(i => new TestEvent($"pgdown-{200 + burst * 400 + i}", now, "pgdown-cred").Fields()));
                await Task.Delay(300);
            }

            // The workers stay up and say they are not ready.
            using var health = await fixture.Worker(1).GetAsync("/health");
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, health.StatusCode);

            // A worker that (re)starts while PostgreSQL is down does not crash: it waits for it.
            var pid = fixture.WorkerProcesses[0];
            using (var process = Process.GetProcessById(pid))
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            Assert.True(await Eventually.TrueAsync(async () =>
            {
                if (fixture.WorkerProcesses is not [var restarted, _] || restarted == pid)
                {
                    return false;
                }

                try
                {
                    using var alive = await fixture.Worker(0).GetAsync("/alive");
                    return alive.IsSuccessStatusCode;
                }
                catch (InvalidOperationException)
                {
                    return false; // the new process has not published its address yet
                }
            }, TimeSpan.FromSeconds(60)), "the restarted worker did not come up while PostgreSQL was down");
            using var notReady = await fixture.Worker(0).GetAsync("/health");
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        }
        finally
        {
            await fixture.App.StartResourceAsync("postgres");
        }

        await fixture.WaitForStoredAsync("pgdown-", 2200, TimeSpan.FromSeconds(90));
        Assert.Equal(2200, await fixture.CountRowsAsync("pgdown-"));
        Assert.Equal(2200, await fixture.ScalarAsync<long>("SELECT sum(requests) FROM usage_daily WHERE credential_id = 'pgdown-cred'"));
        Assert.Equal(deadBefore, await DeadLetterCountAsync());
        using var healthy = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await fixture.App.WaitForResourceHealthyAsync("usageworker", healthy.Token);
    }

    private async Task<long> DeadLetterCountAsync()
    {
        try
        {
            return (long)await fixture.Db.ExecuteAsync("XLEN", RedisKeys.UsageDeadLetterStream);
        }
        catch (RedisServerException)
        {
            return 0;
        }
    }
}
