using System.Globalization;
using LlmGateway.Gateway.Redis;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Redis;

/// <summary>The hot path's pipelined Redis connection against a real redis-server: replies matched to callers, scripts, outages.</summary>
public sealed class RespConnectionTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _admin = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartNewAsync();
        _admin = await _redis.ConnectAdminAsync();
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _redis.DisposeAsync();
    }

    private RespConnection Connect(string? password = null, TimeSpan? deadAfter = null)
    {
        var options = ConfigurationOptions.Parse(_redis.ConnectionString);
        var endPoint = options.EndPoints[0];
        return new RespConnection(
            new RespConnectionSettings(endPoint, password ?? options.Password, 0)
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                DeadConnectionTimeout = deadAfter ?? TimeSpan.FromSeconds(5),
                ReconnectInterval = TimeSpan.FromMilliseconds(200),
            },
            TimeProvider.System,
            NullLogger.Instance);
    }

    private static Task<RespReply> Command(RespConnection connection, params string[] arguments) =>
        connection.ExecuteAsync(arguments, static (output, args) =>
        {
            Resp.WriteArrayHeader(output, args.Length);
            foreach (var argument in args)
            {
                Resp.WriteBulk(output, argument);
            }
        });

    /// <summary>Commands fail fast while the connection is down; once Redis answers, one of them reconnects.</summary>
    private static async Task WaitUntilAnsweringAsync(RespConnection connection)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                Assert.Equal("PONG", (await Command(connection, "PING")).AsString());
                return;
            }
            catch (RespConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task Concurrent_callers_each_get_their_own_reply()
    {
        await using var connection = Connect();
        var replies = await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => Task.Run(() => Command(connection, "ECHO", "value-" + i))));

        for (var i = 0; i < replies.Length; i++)
        {
            Assert.Equal("value-" + i, replies[i].AsString());
        }

        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task Commands_issued_while_the_connection_is_being_made_run_in_the_order_they_were_issued()
    {
        await using var connection = Connect();
        var pushes = Enumerable.Range(0, 300).Select(i => Command(connection, "RPUSH", "resp:order", i.ToString(CultureInfo.InvariantCulture))).ToList();
        await Task.WhenAll(pushes);

        var stored = await _admin.GetDatabase().ListRangeAsync("resp:order");
        Assert.Equal(Enumerable.Range(0, 300).Select(i => i.ToString(CultureInfo.InvariantCulture)), stored.Select(v => (string)v!));
        Assert.Equal(Enumerable.Range(1, 300), pushes.Select(p => (int)p.Result.AsInt64()));
    }

    [Fact]
    public async Task Error_replies_are_returned_and_the_connection_stays_usable()
    {
        await using var connection = Connect();
        var error = await Command(connection, "NOSUCHCOMMAND");
        Assert.True(error.IsError);
        Assert.Contains("unknown command", error.AsString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("PONG", (await Command(connection, "PING")).AsString());
    }

    [Fact]
    public async Task A_large_reply_arriving_in_many_segments_is_read_whole()
    {
        await using var connection = Connect();
        var large = new string('x', 300_000);
        await Command(connection, "SET", "resp:large", large);
        Assert.Equal(large, (await Command(connection, "GET", "resp:large")).AsString());
    }

    [Fact]
    public async Task Scripts_run_by_sha_and_are_sent_again_when_Redis_forgot_them()
    {
        await using var runner = new RespScriptRunner(Connect());
        var script = new RedisScript("return {tonumber(ARGV[1]) + 1, KEYS[1], 'x'}");

        var first = await runner.EvaluateAsync(script, ["resp:k"], [41]);
        Assert.Equal(42, first[0].AsInt64());
        Assert.Equal("resp:k", first[1].AsString());

        await _admin.GetServer(_admin.GetEndPoints()[0]).ScriptFlushAsync();
        var again = await runner.EvaluateAsync(script, ["resp:k"], [1]);
        Assert.Equal(2, again[0].AsInt64());
    }

    [Fact]
    public async Task A_script_error_throws_with_Redis_message()
    {
        await using var runner = new RespScriptRunner(Connect());
        await _admin.GetDatabase().StringSetAsync("resp:text", "abc");
        var error = await Assert.ThrowsAsync<RespServerException>(
            () => runner.EvaluateAsync(new RedisScript("return redis.call('INCR', KEYS[1])"), ["resp:text"], []));
        Assert.Contains("not an integer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_password_is_a_connection_error_that_names_AUTH()
    {
        await using var connection = Connect(password: "not-the-password");
        var error = await Assert.ThrowsAsync<RespConnectionException>(() => Command(connection, "PING"));
        Assert.Contains("AUTH", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", error.Message, StringComparison.Ordinal);
        Assert.False(connection.IsConnected);
    }

    [Fact]
    public async Task An_outage_fails_pending_commands_then_fails_fast_and_the_connection_comes_back()
    {
        await using var connection = Connect();
        Assert.Equal("PONG", (await Command(connection, "PING")).AsString());

        // A command in flight when Redis goes away fails instead of hanging.
        var blocked = Command(connection, "BLPOP", "resp:never", "0");
        await _redis.StopAsync();
        await Assert.ThrowsAsync<RespConnectionException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(connection.IsConnected);

        // While it is down, commands fail (never hang) and the connection is not shown as connected.
        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<RespConnectionException>(() => Command(connection, "PING").WaitAsync(TimeSpan.FromSeconds(30)));
        }

        await _redis.StartAsync();
        await WaitUntilAnsweringAsync(connection);

        // A command queued behind the reconnect's handshake can be answered (on the receive loop) a moment before the
        // connecting task marks the link connected: wait for that, briefly.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!connection.IsConnected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.True(connection.IsConnected);
    }

    [Fact]
    public async Task A_connection_that_stops_answering_is_dropped_and_replaced()
    {
        await using var connection = Connect(deadAfter: TimeSpan.FromMilliseconds(500));
        Assert.Equal("PONG", (await Command(connection, "PING")).AsString());

        // Redis holds every client's commands for 2 s: the waiting command outlives the dead-connection timeout.
        await _admin.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "2000", "ALL");
        var waiting = Command(connection, "PING");
        await Assert.ThrowsAsync<RespConnectionException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));

        await WaitUntilAnsweringAsync(connection);
    }

    [Fact]
    public async Task The_runner_is_chosen_by_what_the_connection_string_asks_for()
    {
        using var multiplexer = _redis.Connect();
        var plain = ScriptRunner.Create(_redis.ConnectionString, multiplexer, TimeProvider.System, NullLogger.Instance);
        await using (plain as IAsyncDisposable)
        {
            Assert.IsType<RespScriptRunner>(plain);
        }

        Assert.IsType<MultiplexerScriptRunner>(ScriptRunner.Create(_redis.ConnectionString + ",ssl=true", multiplexer, TimeProvider.System, NullLogger.Instance));
        Assert.IsType<MultiplexerScriptRunner>(ScriptRunner.Create("a:1,b:2", multiplexer, TimeProvider.System, NullLogger.Instance));
        Assert.IsType<MultiplexerScriptRunner>(ScriptRunner.Create("a:26379,serviceName=mymaster", multiplexer, TimeProvider.System, NullLogger.Instance));
    }

    [Fact]
    public async Task Both_runners_read_a_script_reply_the_same_way()
    {
        using var multiplexer = _redis.Connect();
        await using var resp = new RespScriptRunner(Connect());
        var viaMultiplexer = new MultiplexerScriptRunner(multiplexer);
        var script = new RedisScript("return {1, -2, 'three', {4, 'five'}, ARGV[1]}");

        var a = await resp.EvaluateAsync(script, [], ["12"]);
        var b = await viaMultiplexer.EvaluateAsync(script, [], ["12"]);

        Assert.Equal(a.ToString(), b.ToString());
        Assert.Equal("[1, -2, three, [4, five], 12]", a.ToString());
        Assert.Equal(12, b[4].AsInt64());
        Assert.Equal(12L.ToString(CultureInfo.InvariantCulture), a[4].AsString());
    }
}
