using System.Diagnostics.Metrics;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Pricing;
using LlmGateway.ServiceDefaults.Data;
using LlmGateway.UsageWorker.Infrastructure;
using LlmGateway.UsageWorker.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Tests.Integration;

/// <summary>
/// One ingestion step (store, dead-letter, acknowledge) on entries whose delivery history is set by the test, against
/// the real PostgreSQL and a Redis database of its own.
/// </summary>
[Collection(UsageAppCollection.Name)]
public sealed class IngestionServiceTests(UsageAppFixture fixture) : IAsyncLifetime
{
    private const int Database = 6;
    private ConnectionMultiplexer _redis = null!;
    private NpgsqlDataSource _dataSource = null!;
    private ServiceProvider _services = null!;

    private IDatabase Db => _redis.GetDatabase();

    public async Task InitializeAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync(fixture.RedisConnectionString + ",defaultDatabase=" + Database);
        await Db.ExecuteAsync("FLUSHDB");
        _dataSource = NpgsqlDataSource.Create(fixture.DatabaseConnectionString);
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        _redis.Dispose();
        await _dataSource.DisposeAsync();
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task An_entry_delivered_too_often_is_dead_lettered_instead_of_retried_forever()
    {
        var options = new UsageWorkerOptions { ConsumerName = "step", MaxDeliveries = 5 };
        await using var stream = new UsageStream(_redis, fixture.RedisConnectionString + ",defaultDatabase=" + Database, Options.Create(options), NullLogger<UsageStream>.Instance);
        await stream.EnsureGroupAsync();
        var now = DateTimeOffset.UtcNow;
        await Db.ExecuteAsync("XADD", [RedisKeys.UsageStream, "*", .. new TestEvent("step-crasher", now, "step-cred").Fields()]);
        await Db.ExecuteAsync("XADD", [RedisKeys.UsageStream, "*", .. new TestEvent("step-fine", now, "step-cred").Fields()]);
        var read = await stream.ReadNewAsync(10, TimeSpan.FromMilliseconds(200), default);
        Assert.Equal(2, read.Count);

        // As if reclaimed for the sixth time after killing five consumers, and for the second time.
        IReadOnlyList<LlmGateway.UsageWorker.Infrastructure.StreamEntry> entries = [read[0] with { Deliveries = 6 }, read[1] with { Deliveries = 2 }];
        await using var store = new UsageStore(_dataSource);
        var service = new UsageIngestionService(
            stream,
            store,
            new UsageEventParser(PriceTable.BuiltIn),
            new SchemaMigrator(_dataSource, "usageworker", [], NullLogger<SchemaMigrator>.Instance),
            new UsageWorkerMetrics(_services.GetRequiredService<IMeterFactory>()),
            Options.Create(options),
            NullLogger<UsageIngestionService>.Instance);

        await service.ProcessAsync(entries, default);

        Assert.Equal(1, await fixture.CountRowsAsync("step-fine"));
        Assert.Equal(0, await fixture.CountRowsAsync("step-crasher"));
        var dead = (RedisResult[])(await Db.ExecuteAsync("XRANGE", RedisKeys.UsageDeadLetterStream, "-", "+"))!;
        var fields = (string[])((RedisResult[])Assert.Single(dead)!)[1]!;
        Assert.Contains("delivered 6 times without being stored", fields, StringComparer.Ordinal);
        Assert.Equal(0, await stream.PendingCountAsync());
    }
}
