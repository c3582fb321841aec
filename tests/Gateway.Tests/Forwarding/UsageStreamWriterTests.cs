using Microsoft.Extensions.Logging.Abstractions;
using LlmGateway.Gateway.Redis;
using System.Globalization;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Tests.Infrastructure;
using LlmGateway.Gateway.Usage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Forwarding;

/// <summary>A batch of usage entries reaches the stream in one Redis command, in order, field for field.</summary>
public sealed class UsageStreamWriterTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _connection = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartNewAsync();
        _connection = _redis.Connect();
    }

    public async Task DisposeAsync()
    {
        _connection.Dispose();
        await _redis.DisposeAsync();
    }

    private UsageStreamWriter CreateWriter() =>
        new(ScriptRunner.Create(_redis.ConnectionString, _connection, TimeProvider.System, NullLogger.Instance),
            Options.Create(new UsageOptions { WriteTimeout = TimeSpan.FromSeconds(30) }));

    private static string[] Entry(int n) => n % 2 == 0
        ? ["request_id", "req_" + n, "model", "claude \"quoted\" \n ✓", "status", "200"]
        : ["request_id", "req_" + n, "status", "499", "estimated", "1"];

    /// <summary>Calls of a command that ran (an EVALSHA answered NOSCRIPT, then sent again as EVAL, is one command).</summary>
    private async Task<long> CommandCallsAsync(string command)
    {
        using var admin = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var stats = await server.InfoRawAsync("commandstats") ?? "";
        var line = stats.Split('\n').FirstOrDefault(l => l.StartsWith("cmdstat_" + command + ":", StringComparison.Ordinal));
        if (line is null)
        {
            return 0;
        }

        var fields = line.Split(':')[1].Split(',').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
        long Count(string name) => fields.TryGetValue(name, out var value) ? long.Parse(value, CultureInfo.InvariantCulture) : 0;
        return Count("calls") - Count("failed_calls") - Count("rejected_calls");
    }

    [Fact]
    public async Task A_batch_is_one_command_and_its_entries_arrive_in_order_with_their_fields()
    {
        var writer = CreateWriter();
        var entries = Enumerable.Range(1, 300).Select(Entry).ToList();
        var evalsBefore = await CommandCallsAsync("eval") + await CommandCallsAsync("evalsha");

        Assert.Equal(300, await writer.WriteAsync(entries));

        var evals = await CommandCallsAsync("eval") + await CommandCallsAsync("evalsha") - evalsBefore;
        Assert.Equal(1, evals);
        var stored = await UsageStream.ReadAllAsync(_connection);
        Assert.Equal(300, stored.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var expected = entries[i];
            Assert.Equal(expected.Length / 2, stored[i].Count);
            for (var f = 0; f < expected.Length; f += 2)
            {
                Assert.Equal(expected[f + 1], stored[i][expected[f]]);
            }
        }

        // The next batch lands behind the first.
        Assert.Equal(2, await writer.WriteAsync([Entry(301), Entry(302)]));
        Assert.Equal(["req_301", "req_302"], (await UsageStream.ReadAllAsync(_connection)).Skip(300).Select(e => e["request_id"]));
    }

    [Fact]
    public async Task A_batch_too_large_for_one_command_is_split_in_order()
    {
        var writer = CreateWriter();
        // 22 field/value pairs, like a full usage event: 45 arguments each, 91 per command.
        var entries = Enumerable.Range(1, 200)
            .Select(n => new[] { "request_id", "req_" + n }.Concat(Enumerable.Range(1, 21).SelectMany(f => new[] { "f" + f, "v" + f })).ToArray())
            .ToList();
        var evalsBefore = await CommandCallsAsync("eval") + await CommandCallsAsync("evalsha");

        Assert.Equal(200, await writer.WriteAsync(entries));

        var perCommand = UsageStreamWriter.MaxArgumentsPerCommand / 45;
        Assert.Equal((200 + perCommand - 1) / perCommand, await CommandCallsAsync("eval") + await CommandCallsAsync("evalsha") - evalsBefore);
        Assert.Equal(entries.Select(e => e[1]), (await UsageStream.ReadAllAsync(_connection)).Select(e => e["request_id"]));
    }

    [Fact]
    public async Task Where_a_runner_builds_argument_arrays_each_stays_below_the_large_object_heap()
    {
        // StackExchange.Redis takes RedisValue[] (32 bytes each): an array of 85,000 bytes or more lands on the
        // large-object heap, and allocating there on every flush made every collection of the gateway a full one.
        var runner = new ArrayRecordingRunner();
        var writer = new UsageStreamWriter(runner, Options.Create(new UsageOptions { WriteTimeout = TimeSpan.FromSeconds(30) }));
        var entries = Enumerable.Range(1, 300)
            .Select(n => new[] { "request_id", "req_" + n }.Concat(Enumerable.Range(1, 21).SelectMany(f => new[] { "f" + f, "v" + f })).ToArray())
            .ToList();

        Assert.Equal(300, await writer.WriteAsync(entries));

        Assert.True(runner.Arrays.Count > 1);
        Assert.All(runner.Arrays, length => Assert.True(length * System.Runtime.CompilerServices.Unsafe.SizeOf<RedisValue>() < 85_000, $"{length} arguments"));
        Assert.Equal(entries.Sum(e => 1 + e.Length), runner.Arrays.Sum());
    }

    /// <summary>A runner on the default grouped call (an argument array per command), answering as the script would.</summary>
    private sealed class ArrayRecordingRunner : ScriptRunner
    {
        public List<int> Arrays { get; } = [];

        public override bool IsAvailable => true;

        public override bool IsConnected => true;

        public override Task<RespReply> EvaluateAsync(RedisScript script, RedisKey[] keys, RedisValue[] values)
        {
            Arrays.Add(values.Length);
            var entries = 0;
            for (var i = 0; i < values.Length; i += 1 + (int)values[i])
            {
                entries++;
            }

            return Task.FromResult(RespReply.Integer(entries));
        }
    }

    [Fact]
    public async Task Without_Redis_nothing_counts_as_written()
    {
        var writer = CreateWriter();
        await _redis.StopAsync();

        Assert.Equal(0, await writer.WriteAsync([Entry(1), Entry(2)]));
    }

    [Fact]
    public async Task A_batch_Redis_refuses_counts_as_not_written()
    {
        // The stream key holding another type makes every XADD fail: the batch must be kept (spooled), not lost.
        await _connection.GetDatabase().StringSetAsync(LlmGateway.Contracts.RedisKeys.UsageStream, "not a stream");
        var writer = CreateWriter();

        Assert.Equal(0, await writer.WriteAsync([Entry(1), Entry(2)]));
    }
}
