using LlmGateway.Contracts;

namespace LlmGateway.UsageWorker.Tests.Integration;

[Collection(UsageAppCollection.Name)]
public sealed class SpendRebuildTests(UsageAppFixture fixture)
{
    [Fact]
    public async Task Budget_counters_lost_with_Redis_are_rebuilt_once_from_PostgreSQL_and_ingestion_resumes()
    {
        var now = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(0, 10).Select(i => new TestEvent($"spend-{i}", now.AddMinutes(-1), "spend-cred", OwnerId: "spend-owner", Input: 1000 * (i + 1), Output: 500))
            .Concat(Enumerable.Range(10, 5).Select(i => new TestEvent($"spend-{i}", now.AddDays(-40), "spend-cred", OwnerId: "spend-owner", Model: "claude-opus-4-5", Input: 20_000)))
            .Concat(Enumerable.Range(15, 3).Select(i => new TestEvent($"spend-{i}", now.AddMinutes(-2), "spend-cred-2", OwnerId: "spend-owner", Output: 7000)))
            .ToList();
        await fixture.AddEventsAsync(events.Select(e => e.Fields()));
        await fixture.WaitForStoredAsync("spend-", events.Count);
        Assert.True(await fixture.Db.KeyExistsAsync(RedisKeys.BudgetSpentRebuilt));

        // Redis loses everything: counters, the stream, the consumer group.
        await fixture.Db.ExecuteAsync("FLUSHALL");
        Assert.True(await Eventually.TrueAsync(() => fixture.Db.KeyExistsAsync(RedisKeys.BudgetSpentRebuilt), TimeSpan.FromSeconds(60)));

        var day = RedisKeys.BudgetPeriodKey("daily", now);
        var month = RedisKeys.BudgetPeriodKey("monthly", now);
        var dayStart = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        foreach (var (scope, id, column) in new[] { ("cred", "spend-cred", "credential_id"), ("cred", "spend-cred-2", "credential_id"), ("owner", "spend-owner", "owner_id") })
        {
            var total = await fixture.ScalarAsync<long>($"SELECT sum(cost_nano_usd) FROM usage_events WHERE {column} = $1", id);
            var inDay = await fixture.ScalarAsync<long>($"SELECT coalesce(sum(cost_nano_usd), 0) FROM usage_events WHERE {column} = $1 AND ts >= $2", id, dayStart);
            var inMonth = await fixture.ScalarAsync<long>($"SELECT coalesce(sum(cost_nano_usd), 0) FROM usage_events WHERE {column} = $1 AND ts >= $2", id, monthStart);
            if (id != "spend-cred-2")
            {
                Assert.True(total > inMonth && inMonth > 0, "the test data must spread over more than one month");
            }

            Assert.Equal(total, (long)await fixture.Db.StringGetAsync(RedisKeys.BudgetSpent(scope, id, "total")));
            Assert.Equal(inMonth, (long)await fixture.Db.StringGetAsync(RedisKeys.BudgetSpent(scope, id, month)));
            Assert.Equal(inDay, (long)(await fixture.Db.StringGetAsync(RedisKeys.BudgetSpent(scope, id, day))).GetValueOrDefault());
            Assert.Null(await fixture.Db.KeyTimeToLiveAsync(RedisKeys.BudgetSpent(scope, id, "total")));
            Assert.NotNull(await fixture.Db.KeyTimeToLiveAsync(RedisKeys.BudgetSpent(scope, id, month)));
        }

        // The consumer group is recreated and new usage flows again.
        await fixture.AddEventsAsync(Enumerable.Range(0, 25).Select(i => new TestEvent($"after-flush-{i}", DateTimeOffset.UtcNow, "after-flush-cred").Fields()));
        await fixture.WaitForStoredAsync("after-flush-", 25);
    }
}

internal static class RedisValueExtensions
{
    public static long GetValueOrDefault(this StackExchange.Redis.RedisValue value) => value.IsNull ? 0 : (long)value;
}
