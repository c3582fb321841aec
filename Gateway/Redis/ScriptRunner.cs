using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Redis;

/// <summary>
/// A Lua script run by its SHA-1 (<c>EVALSHA</c>); when Redis does not know it (restarted, <c>SCRIPT FLUSH</c>), it is
/// sent once in full (<c>EVAL</c>, which also caches it again).
/// </summary>
internal sealed class RedisScript(string source)
{
    public string Source { get; } = source;

    /// <summary>
    /// Always sent in full (<c>EVAL</c>): for a short script whose pipelined calls must run in the order they were
    /// issued. An <c>EVALSHA</c> that misses is sent again after the commands issued behind it, which would reorder them.
    /// </summary>
    public bool SendSource { get; init; }

    public byte[] SourceBytes { get; } = Encoding.UTF8.GetBytes(source);

    public byte[] Sha1 => field ??= SHA1.HashData(SourceBytes);

    /// <summary>The SHA-1 as <c>EVALSHA</c> takes it: 40 lowercase hex digits.</summary>
    public byte[] Sha1Hex => field ??= Encoding.ASCII.GetBytes(Convert.ToHexStringLower(Sha1));
}

/// <summary>
/// Runs the gateway's Lua scripts (limits, settlement, usage events): the only Redis commands on the hot path.
/// Failures throw <see cref="RespException"/> (connection, server error) or StackExchange.Redis' exceptions.
/// </summary>
internal abstract class ScriptRunner
{
    /// <summary>Whether a command may succeed now: connected, or a connection attempt is due or under way.</summary>
    public abstract bool IsAvailable { get; }

    /// <summary>Whether the connection is up now (a lost connection is known at once, before any command fails).</summary>
    public abstract bool IsConnected { get; }

    public abstract Task<RespReply> EvaluateAsync(RedisScript script, RedisKey[] keys, RedisValue[] values);

    /// <summary>
    /// The most arguments one grouped call (below) should carry. Here it builds an argument array, 32 bytes a
    /// <see cref="RedisValue"/>: 2,048 keep it below the large-object heap (85,000 bytes), whose allocations make every
    /// collection a full one.
    /// </summary>
    public virtual int MaxGroupArguments => 2048;

    /// <summary>
    /// Runs <paramref name="script"/> with ARGV made of <paramref name="groups"/>[<paramref name="start"/>..<paramref name="end"/>)
    /// back to back, each group as its length followed by its strings (the usage stream's batch format).
    /// </summary>
    public virtual Task<RespReply> EvaluateAsync(RedisScript script, RedisKey[] keys, IReadOnlyList<string[]> groups, int start, int end)
    {
        var values = new RedisValue[GroupArgumentCount(groups, start, end)];
        var next = 0;
        for (var i = start; i < end; i++)
        {
            var group = groups[i];
            values[next++] = group.Length;
            foreach (var value in group)
            {
                values[next++] = value;
            }
        }

        return EvaluateAsync(script, keys, values);
    }

    protected static int GroupArgumentCount(IReadOnlyList<string[]> groups, int start, int end)
    {
        var count = 0;
        for (var i = start; i < end; i++)
        {
            count += 1 + groups[i].Length;
        }

        return count;
    }

    /// <summary>
    /// The pipelined <see cref="RespConnection"/> for a plain single-endpoint Redis (what the AppHost, Aspire and most
    /// deployments give); StackExchange.Redis for what it does not speak (TLS, Sentinel, several endpoints, a proxy).
    /// </summary>
    public static ScriptRunner Create(string? connectionString, IConnectionMultiplexer multiplexer, TimeProvider time, ILogger logger)
    {
        if (connectionString is not { Length: > 0 })
        {
            return new MultiplexerScriptRunner(multiplexer);
        }

        var options = ConfigurationOptions.Parse(connectionString, ignoreUnknown: true);
        if (options.EndPoints.Count != 1 || options.Ssl || options.ServiceName is { Length: > 0 } || options.Proxy != Proxy.None)
        {
            return new MultiplexerScriptRunner(multiplexer);
        }

        var endPoint = options.EndPoints[0] switch
        {
            DnsEndPoint { Port: 0 } dns => new DnsEndPoint(dns.Host, 6379),
            IPEndPoint { Port: 0 } ip => new IPEndPoint(ip.Address, 6379),
            var e => e,
        };
        var settings = new RespConnectionSettings(endPoint, options.Password, options.DefaultDatabase ?? 0)
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(Math.Clamp(options.ConnectTimeout, 100, 30_000)),
        };
        return new RespScriptRunner(new RespConnection(settings, time, logger));
    }
}

/// <summary>Scripts over <see cref="RespConnection"/>.</summary>
internal sealed class RespScriptRunner(RespConnection connection) : ScriptRunner, IAsyncDisposable, IDisposable
{
    private static readonly Action<IBufferWriter<byte>, Invocation> WriteBySha = static (output, call) => Write(output, call, bySha: true);
    private static readonly Action<IBufferWriter<byte>, Invocation> WriteBySource = static (output, call) => Write(output, call, bySha: false);

    public RespConnection Connection { get; } = connection;

    public override bool IsAvailable => Connection.IsAvailable;

    public override bool IsConnected => Connection.IsConnected;

    public override Task<RespReply> EvaluateAsync(RedisScript script, RedisKey[] keys, RedisValue[] values) =>
        EvaluateAsync(new Invocation(script, keys, values, null, 0, 0));

    /// <summary>No argument array here (see the grouped <see cref="EvaluateAsync(RedisScript, RedisKey[], IReadOnlyList{string[]}, int, int)"/>).</summary>
    public override int MaxGroupArguments => int.MaxValue;

    /// <summary>Writes the strings straight into the command buffer: no argument array, no per-string byte copy.</summary>
    public override Task<RespReply> EvaluateAsync(RedisScript script, RedisKey[] keys, IReadOnlyList<string[]> groups, int start, int end) =>
        EvaluateAsync(new Invocation(script, keys, [], groups, start, end));

    private async Task<RespReply> EvaluateAsync(Invocation call)
    {
        var script = call.Script;
        var reply = await Connection.ExecuteAsync(call, script.SendSource ? WriteBySource : WriteBySha).ConfigureAwait(false);
        if (reply.IsError && !script.SendSource && reply.AsString()!.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            reply = await Connection.ExecuteAsync(call, WriteBySource).ConfigureAwait(false);
        }

        return reply.IsError ? throw new RespServerException(reply.AsString()!) : reply;
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();

    public void Dispose() => Connection.Dispose();

    private static void Write(IBufferWriter<byte> output, Invocation call, bool bySha)
    {
        var groupArguments = call.Groups is { } counted ? GroupArgumentCount(counted, call.Start, call.End) : 0;
        Resp.WriteArrayHeader(output, 3 + call.Keys.Length + call.Values.Length + groupArguments);
        Resp.WriteBulk(output, bySha ? "EVALSHA"u8 : "EVAL"u8);
        Resp.WriteBulk(output, bySha ? call.Script.Sha1Hex : call.Script.SourceBytes);
        Resp.WriteBulk(output, call.Keys.Length);
        foreach (var key in call.Keys)
        {
            Resp.WriteBulk(output, key);
        }

        foreach (var value in call.Values)
        {
            Resp.WriteBulk(output, value);
        }

        if (call.Groups is { } groups)
        {
            for (var i = call.Start; i < call.End; i++)
            {
                var group = groups[i];
                Resp.WriteBulk(output, group.Length);
                foreach (var text in group)
                {
                    Resp.WriteBulk(output, text);
                }
            }
        }
    }

    /// <summary>A script call: its arguments are <see cref="Values"/>, then <see cref="Groups"/>[Start..End) when set.</summary>
    private readonly record struct Invocation(
        RedisScript Script, RedisKey[] Keys, RedisValue[] Values, IReadOnlyList<string[]>? Groups, int Start, int End);
}

/// <summary>Scripts over StackExchange.Redis (TLS, Sentinel and other set-ups <see cref="RespConnection"/> does not speak).</summary>
internal sealed class MultiplexerScriptRunner(IConnectionMultiplexer multiplexer) : ScriptRunner
{
    public override bool IsAvailable => multiplexer.IsConnected;

    public override bool IsConnected => multiplexer.IsConnected;

    public override async Task<RespReply> EvaluateAsync(RedisScript script, RedisKey[] keys, RedisValue[] values)
    {
        var database = multiplexer.GetDatabase();
        RedisResult result;
        if (script.SendSource)
        {
            return Convert(await database.ScriptEvaluateAsync(script.Source, keys, values).ConfigureAwait(false));
        }

        try
        {
            result = await database.ScriptEvaluateAsync(script.Sha1, keys, values).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            result = await database.ScriptEvaluateAsync(script.Source, keys, values).ConfigureAwait(false);
        }

        return Convert(result);
    }

    private static RespReply Convert(RedisResult result)
    {
        if (result.IsNull)
        {
            return RespReply.Nil;
        }

        // An array converts to RedisResult[], anything else to a value.
        RedisResult[]? items = null;
        try
        {
            items = (RedisResult[])result!;
        }
        catch (InvalidCastException)
        {
        }

        if (items is not null)
        {
            return RespReply.Array([.. items.Select(Convert)]);
        }

        var value = (RedisValue)result;
        return value.IsInteger ? RespReply.Integer((long)value) : RespReply.Bulk((byte[])value!);
    }
}
