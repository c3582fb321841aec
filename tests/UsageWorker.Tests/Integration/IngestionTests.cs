using LlmGateway.Contracts;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Tests.Integration;

[Collection(UsageAppCollection.Name)]
public sealed class IngestionTests(UsageAppFixture fixture)
{
    private static readonly string[] Models = ["claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-opus-4-5-20251101"];

    [Fact]
    public async Task Every_event_is_stored_once_with_its_tokens_and_cost_and_duplicates_change_nothing()
    {
        const int n = 300;
        var now = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(0, n).Select(i => new TestEvent(
            $"ing1-{i}", now.AddMinutes(-i % 90), $"ing1-cred-{i % 3}", Models[i % 3],
            Input: 100 + i, Output: 10 + (i * 7 % 500), CacheWrite: i % 4 == 0 ? 1000 : 0, CacheRead: i % 5 == 0 ? 3000 : 0,
            Status: i % 10 == 0 ? 500 : 200)).ToList();

        await fixture.AddEventsAsync(events.Select(e => e.Fields()));
        // The Gateway replaying part of its spool: the same request ids again.
        await fixture.AddEventsAsync(events.Take(50).Select(e => e.Fields()));

        await fixture.WaitForStoredAsync("ing1-", n);
        Assert.Equal(n, await fixture.CountRowsAsync("ing1-"));

        foreach (var e in events.Where((_, i) => i % 37 == 0))
        {
            Assert.Equal(e.ExpectedCostNanoUsd(), await fixture.ScalarAsync<long>("SELECT cost_nano_usd FROM usage_events WHERE request_id = $1", e.RequestId));
            Assert.Equal(e.Input + e.Output + e.CacheWrite + e.CacheRead, await fixture.ScalarAsync<long>(
                "SELECT input_tokens + output_tokens + cache_creation_input_tokens + cache_read_input_tokens FROM usage_events WHERE request_id = $1", e.RequestId));
        }

        var expectedCost = events.Sum(e => e.ExpectedCostNanoUsd());
        Assert.Equal(expectedCost, await fixture.ScalarAsync<long>("SELECT sum(cost_nano_usd) FROM usage_events WHERE request_id LIKE 'ing1-%'"));

        // The rollups count each request once, whatever the re-deliveries.
        foreach (var table in new[] { "usage_hourly", "usage_daily" })
        {
            Assert.Equal(n, await fixture.ScalarAsync<long>($"SELECT sum(requests) FROM {table} WHERE credential_id LIKE 'ing1-cred-%'"));
            Assert.Equal(n / 10, await fixture.ScalarAsync<long>($"SELECT sum(errors) FROM {table} WHERE credential_id LIKE 'ing1-cred-%'"));
            Assert.Equal(expectedCost, await fixture.ScalarAsync<long>($"SELECT sum(cost_nano_usd) FROM {table} WHERE credential_id LIKE 'ing1-cred-%'"));
            Assert.Equal(events.Sum(e => e.Output), await fixture.ScalarAsync<long>($"SELECT sum(output_tokens) FROM {table} WHERE credential_id LIKE 'ing1-cred-%'"));
        }
    }

    [Fact]
    public async Task The_upstream_and_its_attempt_count_are_stored_and_older_events_without_attempts_still_are()
    {
        await fixture.AddEventsAsync(
        [
            ["request_id", "attempts-2", "ts", "1750000000000", "model", "claude-haiku-4-5", "upstream", "secondary", "attempts", "2"],
            ["request_id", "attempts-none", "ts", "1750000000000", "model", "claude-haiku-4-5", "upstream", "anthropic"],
        ]);

        await fixture.WaitForStoredAsync("attempts-", 2);

        Assert.Equal("secondary", await fixture.ScalarAsync<string>("SELECT upstream FROM usage_events WHERE request_id = $1", "attempts-2"));
        Assert.Equal(2, await fixture.ScalarAsync<int>("SELECT attempts FROM usage_events WHERE request_id = $1", "attempts-2"));
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM usage_events WHERE request_id = $1 AND attempts IS NULL", "attempts-none"));
    }

    [Fact]
    public async Task A_poisoned_event_goes_to_the_dead_letter_stream_and_the_rest_keep_flowing()
    {
        var now = DateTimeOffset.UtcNow;
        var before = await fixture.AddEventsAsync([new TestEvent("poison-ok-1", now, "poison-cred").Fields()]);
        var poisoned = await fixture.AddEventsAsync(
        [
            ["request_id", "poison-bad-ts", "ts", "not-a-time", "model", "claude-haiku-4-5"],
            ["ts", "1750000000000", "model", "claude-haiku-4-5", "input_tokens", "5"],
            ["request_id", "poison-bad-tokens", "ts", "1750000000000", "input_tokens", "-3"],
        ]);
        await fixture.AddEventsAsync(Enumerable.Range(2, 20).Select(i => new TestEvent($"poison-ok-{i}", now, "poison-cred").Fields()));

        await fixture.WaitForStoredAsync("poison-ok-", 21);

        var dead = await DeadLettersAsync();
        Assert.Equal(3, poisoned.Count(id => dead.ContainsKey(id)));
        Assert.Contains("ts 'not-a-time' is not an integer", dead[poisoned[0]]["dead_reason"], StringComparison.Ordinal);
        Assert.Contains("request_id is missing", dead[poisoned[1]]["dead_reason"], StringComparison.Ordinal);
        Assert.Contains("input_tokens '-3'", dead[poisoned[2]]["dead_reason"], StringComparison.Ordinal);
        // The original fields are kept for inspection or replay.
        Assert.Equal("poison-bad-ts", dead[poisoned[0]]["request_id"]);
        Assert.DoesNotContain(before[0], dead.Keys);
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM usage_events WHERE request_id LIKE 'poison-bad-%'"));

        // Console output of the workers reaches the AppHost asynchronously: wait for the line rather than race it.
        Assert.True(await Eventually.TrueAsync(
            () => Task.FromResult(fixture.App.GetLogs("usageworker")
                .Any(line => line.Contains("poison-bad-ts", StringComparison.Ordinal) && line.Contains("dead-letter", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(30)), "the dead-lettering of poison-bad-ts was not logged");
    }

    [Fact]
    public async Task An_event_PostgreSQL_refuses_is_isolated_and_dead_lettered_while_its_batch_is_stored()
    {
        var now = DateTimeOffset.UtcNow;
        // Valid to the parser, refused by PostgreSQL (text cannot hold NUL): the batch is bisected down to this entry.
        var refused = new TestEvent("refused-bad", now, "refused-cred", AgentName: "nul\0inside");
        var ids = await fixture.AddEventsAsync(
        [
            .. Enumerable.Range(0, 40).Select(i => new TestEvent($"refused-ok-{i}", now, "refused-cred").Fields()),
            refused.Fields(),
            .. Enumerable.Range(40, 40).Select(i => new TestEvent($"refused-ok-{i}", now, "refused-cred").Fields()),
        ]);

        await fixture.WaitForStoredAsync("refused-ok-", 80);
        var dead = await DeadLettersAsync();
        Assert.StartsWith("refused by PostgreSQL: 22021", dead[ids[40]]["dead_reason"], StringComparison.Ordinal);
        Assert.Equal(0, await fixture.CountRowsAsync("refused-bad"));
        Assert.Equal(80, await fixture.ScalarAsync<long>("SELECT sum(requests) FROM usage_daily WHERE credential_id = 'refused-cred'"));
    }

    [Fact]
    public async Task The_stream_is_trimmed_once_its_entries_are_acknowledged()
    {
        var now = DateTimeOffset.UtcNow;
        await fixture.AddEventsAsync(Enumerable.Range(0, 1500).Select(i => new TestEvent($"trim-{i}", now, "trim-cred").Fields()));
        await fixture.WaitForStoredAsync("trim-", 1500);

        // Everything is acknowledged, so maintenance drops all but Redis' last internal node.
        Assert.True(await Eventually.TrueAsync(async () => await fixture.Db.StreamLengthAsync() < 200, TimeSpan.FromSeconds(60)),
            $"stream still has {await fixture.Db.StreamLengthAsync()} entries");
    }

    private async Task<Dictionary<string, Dictionary<string, string>>> DeadLettersAsync()
    {
        var entries = (RedisResult[])(await fixture.Db.ExecuteAsync("XRANGE", RedisKeys.UsageDeadLetterStream, "-", "+"))!;
        var result = new Dictionary<string, Dictionary<string, string>>();
        foreach (var entry in entries)
        {
            var parts = (RedisResult[])entry!;
            var fields = (string[])parts[1]!;
            var map = new Dictionary<string, string>();
            for (var i = 0; i < fields.Length; i += 2)
            {
                map[fields[i]] = fields[i + 1];
            }

            result[map["dead_source_id"]] = map;
        }

        return result;
    }
}

internal static class StreamLength
{
    public static async Task<long> StreamLengthAsync(this IDatabase db) => (long)await db.ExecuteAsync("XLEN", RedisKeys.UsageStream);
}
