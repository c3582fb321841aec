using LlmGateway.Contracts;
using LlmGateway.UsageWorker.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Tests.Integration;

/// <summary>
/// The stream operations against the real Redis, in a database of their own (the running workers use database 0).
/// </summary>
[Collection(UsageAppCollection.Name)]
public sealed class UsageStreamTests(UsageAppFixture fixture) : IAsyncLifetime
{
    private const int Database = 5;
    private ConnectionMultiplexer _redis = null!;
    private string _connectionString = null!;

    private IDatabase Db => _redis.GetDatabase();

    public async Task InitializeAsync()
    {
        _connectionString = fixture.RedisConnectionString + ",defaultDatabase=" + Database;
        _redis = await ConnectionMultiplexer.ConnectAsync(_connectionString);
        await Db.ExecuteAsync("FLUSHDB");
    }

    public Task DisposeAsync()
    {
        _redis.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Trimming_never_removes_a_pending_or_undelivered_entry()
    {
        await using var stream = Stream("trimmer");
        await stream.EnsureGroupAsync();
        var ids = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            ids.Add((string)(await Db.ExecuteAsync("XADD", RedisKeys.UsageStream, "*", "n", i.ToString(System.Globalization.CultureInfo.InvariantCulture)))!);
        }

        var read = await stream.ReadNewAsync(260, TimeSpan.FromMilliseconds(100), default);
        Assert.Equal(ids.Take(260), read.Select(e => e.Id));
        await stream.AcknowledgeAsync(ids.Take(250).ToList());   // 250..259 stay pending, 260..299 undelivered

        var bound = await stream.TrimAcknowledgedAsync();

        Assert.Equal(ids[250], bound);
        var left = ((RedisResult[])(await Db.ExecuteAsync("XRANGE", RedisKeys.UsageStream, "-", "+"))!).Select(e => (string)((RedisResult[])e!)[0]!).ToList();
        Assert.True(left.Count < 300, "acknowledged entries were trimmed");
        Assert.Equal(ids.Skip(250), left.Where(id => ids.IndexOf(id) >= 250));
    }

    [Fact]
    public async Task Idle_entries_of_a_stopped_consumer_are_claimed_with_their_delivery_count()
    {
        await using var dead = Stream("dead-consumer");
        await using var survivor = Stream("survivor");
        await dead.EnsureGroupAsync();
        await Db.ExecuteAsync("XADD", RedisKeys.UsageStream, "*", "request_id", "a");
        await Db.ExecuteAsync("XADD", RedisKeys.UsageStream, "*", "request_id", "b");
        Assert.Equal(2, (await dead.ReadNewAsync(10, TimeSpan.FromMilliseconds(100), default)).Count);

        // Not idle long enough yet: nothing to take.
        Assert.Empty(await survivor.ClaimIdleAsync(TimeSpan.FromMinutes(1), 10));

        // The idle threshold is far above any pause a loaded machine makes between two Redis calls, so the second
        // claim below cannot see the freshly claimed entries as idle again.
        var minIdle = TimeSpan.FromSeconds(1);
        await Task.Delay(minIdle + TimeSpan.FromMilliseconds(100));
        var claimed = await survivor.ClaimIdleAsync(minIdle, 10);
        Assert.Equal(["a", "b"], claimed.Select(e => e.Fields[1]));
        Assert.All(claimed, e => Assert.Equal(2, e.Deliveries));

        // Claimed entries now belong to the survivor: a second claimer right away gets nothing.
        Assert.Empty(await dead.ClaimIdleAsync(minIdle, 10));
        Assert.Equal(2, await survivor.PendingCountAsync());
    }

    [Fact]
    public async Task A_lost_consumer_group_is_recreated_on_the_next_read()
    {
        await using var stream = Stream("reader");
        await stream.EnsureGroupAsync();
        await Db.ExecuteAsync("FLUSHDB");

        Assert.Empty(await stream.ReadNewAsync(10, TimeSpan.FromMilliseconds(50), default));
        await Db.ExecuteAsync("XADD", RedisKeys.UsageStream, "*", "request_id", "after");
        var entries = await stream.ReadNewAsync(10, TimeSpan.FromMilliseconds(500), default);
        Assert.Equal("after", Assert.Single(entries).Fields[1]);
    }

    [Fact]
    public async Task Consumers_of_stopped_instances_holding_nothing_are_removed()
    {
        await using var gone = Stream("gone");
        await using var holder = Stream("holder");
        await using var self = Stream("self");
        await gone.EnsureGroupAsync();
        await Db.ExecuteAsync("XADD", RedisKeys.UsageStream, "*", "request_id", "done");
        var done = await gone.ReadNewAsync(1, TimeSpan.FromMilliseconds(50), default);
        await gone.AcknowledgeAsync([Assert.Single(done).Id]);
        await Db.ExecuteAsync("XADD", RedisKeys.UsageStream, "*", "request_id", "held");
        await holder.ReadNewAsync(1, TimeSpan.FromMilliseconds(50), default);
        await Task.Delay(100);

        Assert.Equal(1, await self.RemoveIdleConsumersAsync(TimeSpan.FromMilliseconds(50)));
        var names = ((RedisResult[])(await Db.ExecuteAsync("XINFO", "CONSUMERS", RedisKeys.UsageStream, RedisKeys.UsageConsumerGroup))!)
            .Select(c => ((string[])c!)[1]).ToList();
        Assert.Equal(["holder"], names);
    }

    private UsageStream Stream(string consumer) => new(
        _redis, _connectionString, Options.Create(new UsageWorkerOptions { ConsumerName = consumer }), NullLogger<UsageStream>.Instance);
}
