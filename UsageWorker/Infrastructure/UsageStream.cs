using System.Globalization;
using LlmGateway.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>
/// The UsageWorker's side of the usage stream (<see cref="RedisKeys.UsageStream"/>, group
/// <see cref="RedisKeys.UsageConsumerGroup"/>). Commands are sent with <c>ExecuteAsync</c> and their replies parsed
/// here: StackExchange.Redis' stream API has no <c>BLOCK</c> (it polls), and the worker's read must wait for entries.
/// </summary>
/// <remarks>
/// <para>
/// The blocking <c>XREADGROUP … BLOCK</c> runs on a multiplexer of its own. A multiplexer pipelines every command over
/// one socket, so a blocked read on the shared one would hold up every other command of the process (acks,
/// credential lookups, health checks) for the whole block time; on its own connection it costs one idle socket and
/// delivers new entries the moment they arrive, without polling. The block time is short (seconds) so that shutdown
/// is prompt; the reader's asynchronous timeout is set above the longest allowed block (one minute).
/// </para>
/// <para>Everything else (ack, claim, dead-letter, trim) uses the shared multiplexer.</para>
/// </remarks>
internal sealed partial class UsageStream : IAsyncDisposable
{
    private static readonly RedisKey Key = RedisKeys.UsageStream;
    private const string Group = RedisKeys.UsageConsumerGroup;

    private readonly IConnectionMultiplexer _redis;
    private readonly string _readerConnectionString;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _readerGate = new(1, 1);
    private ConnectionMultiplexer? _reader;

    public UsageStream(IConnectionMultiplexer redis, string readerConnectionString, IOptions<UsageWorkerOptions> options, ILogger<UsageStream> logger)
    {
        _redis = redis;
        _readerConnectionString = readerConnectionString;
        _logger = logger;
        ConsumerName = string.IsNullOrWhiteSpace(options.Value.ConsumerName)
            ? $"{Environment.MachineName}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}"
            : options.Value.ConsumerName;
    }

    public string ConsumerName { get; }

    private IDatabase Database => _redis.GetDatabase();

    /// <summary>Creates the group (from the start of the stream, creating the stream too) unless it exists.</summary>
    public async Task EnsureGroupAsync()
    {
        try
        {
            await Database.ExecuteAsync("XGROUP", "CREATE", Key, Group, "0", "MKSTREAM").ConfigureAwait(false);
            LogGroupCreated(_logger, RedisKeys.UsageStream, Group);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }
    }

    /// <summary>New entries for this consumer; empty when none arrived within <paramref name="block"/>.</summary>
    public async Task<IReadOnlyList<StreamEntry>> ReadNewAsync(int count, TimeSpan block, CancellationToken ct)
    {
        var reader = await ReaderAsync().ConfigureAwait(false);
        RedisResult result;
        try
        {
            result = await reader.GetDatabase().ExecuteAsync(
                "XREADGROUP", "GROUP", Group, ConsumerName,
                "COUNT", count.ToString(CultureInfo.InvariantCulture),
                "BLOCK", ((long)block.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
                "STREAMS", Key, ">").WaitAsync(block + TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            // The stream or the group is gone: Redis was flushed or replaced. Start over from whatever is there now.
            LogGroupMissing(_logger, RedisKeys.UsageStream, Group);
            await EnsureGroupAsync().ConfigureAwait(false);
            return [];
        }

        if (result.IsNull)
        {
            return [];
        }

        var streams = (RedisResult[])result!;
        return streams.Length == 0 ? [] : ParseEntries(((RedisResult[])streams[0]!)[1]);
    }

    /// <summary>
    /// Takes over up to <paramref name="count"/> entries that have been pending with any consumer (this one included,
    /// e.g. before a restart) for at least <paramref name="minIdle"/>. Each carries its delivery count after the claim.
    /// </summary>
    public async Task<IReadOnlyList<StreamEntry>> ClaimIdleAsync(TimeSpan minIdle, int count)
    {
        var minIdleMs = ((long)minIdle.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        RedisResult pendingReply;
        try
        {
            pendingReply = await Database.ExecuteAsync(
                "XPENDING", Key, Group, "IDLE", minIdleMs, "-", "+", count.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            await EnsureGroupAsync().ConfigureAwait(false);
            return [];
        }

        var pending = (RedisResult[])pendingReply!;
        if (pending.Length == 0)
        {
            return [];
        }

        var deliveries = new Dictionary<string, long>(pending.Length, StringComparer.Ordinal);
        var args = new List<object>(pending.Length + 5) { Key, Group, ConsumerName, minIdleMs };
        foreach (var item in pending)
        {
            var fields = (RedisResult[])item!;
            var id = (string)fields[0]!;
            deliveries[id] = (long)fields[3];
            args.Add(id);
        }

        // XCLAIM re-checks the idle time, so an entry another instance claimed meanwhile is not taken twice; entries
        // deleted from the stream are dropped from the pending list by Redis and not returned.
        var claimed = ParseEntries(await Database.ExecuteAsync("XCLAIM", args.ToArray()).ConfigureAwait(false));
        var result = new List<StreamEntry>(claimed.Count);
        foreach (var entry in claimed)
        {
            result.Add(entry with { Deliveries = deliveries.GetValueOrDefault(entry.Id) + 1 });
        }

        return result;
    }

    /// <summary>Acknowledges entries (after they are stored or dead-lettered).</summary>
    public async Task AcknowledgeAsync(IReadOnlyList<string> ids)
    {
        const int chunk = 1000;
        for (var start = 0; start < ids.Count; start += chunk)
        {
            var length = Math.Min(chunk, ids.Count - start);
            var args = new object[length + 2];
            args[0] = Key;
            args[1] = Group;
            for (var i = 0; i < length; i++)
            {
                args[i + 2] = ids[start + i];
            }

            await Database.ExecuteAsync("XACK", args).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Copies an entry to <see cref="RedisKeys.UsageDeadLetterStream"/> with why it was refused. The original fields
    /// come first, unchanged; the <c>dead_*</c> fields describe the failure.
    /// </summary>
    public async Task DeadLetterAsync(StreamEntry entry, string reason)
    {
        var args = new List<object>(entry.Fields.Length + 14) { RedisKeys.UsageDeadLetterStream, "*" };
        args.AddRange(entry.Fields);
        args.Add("dead_reason");
        args.Add(reason);
        args.Add("dead_source_id");
        args.Add(entry.Id);
        args.Add("dead_deliveries");
        args.Add(entry.Deliveries.ToString(CultureInfo.InvariantCulture));
        args.Add("dead_consumer");
        args.Add(ConsumerName);
        args.Add("dead_at");
        args.Add(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        await Database.ExecuteAsync("XADD", args.ToArray()).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes entries every consumer group has acknowledged, and nothing else: for each group the bound is its oldest
    /// pending entry or, with none pending, its last delivered one (kept). Returns the bound used, or null.
    /// </summary>
    public async Task<string?> TrimAcknowledgedAsync()
    {
        RedisResult groupsReply;
        try
        {
            groupsReply = await Database.ExecuteAsync("XINFO", "GROUPS", Key).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("no such key", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        StreamId? bound = null;
        foreach (var group in (RedisResult[])groupsReply!)
        {
            var info = ToMap((RedisResult[])group!);
            var name = (string)info["name"]!;
            var lastDelivered = StreamId.Parse((string)info["last-delivered-id"]!);
            var candidate = lastDelivered;
            if ((long)info["pending"] > 0)
            {
                // Summary form: [count, smallest id, greatest id, consumers].
                var summary = (RedisResult[])(await Database.ExecuteAsync("XPENDING", Key, name).ConfigureAwait(false))!;
                if (!summary[1].IsNull)
                {
                    candidate = StreamId.Min(candidate, StreamId.Parse((string)summary[1]!));
                }
            }

            bound = bound is { } b ? StreamId.Min(b, candidate) : candidate;
        }

        if (bound is not { } minId || minId.IsZero)
        {
            return null;
        }

        // "~" lets Redis drop only whole internal nodes: cheaper, and it never removes an id at or above the bound.
        var trimmed = (long)await Database.ExecuteAsync("XTRIM", Key, "MINID", "~", minId.ToString()).ConfigureAwait(false);
        if (trimmed > 0)
        {
            LogTrimmed(_logger, trimmed, minId.ToString());
        }

        return minId.ToString();
    }

    /// <summary>Deletes consumers (never this one) that hold nothing and have been idle longer than <paramref name="idle"/>.</summary>
    public async Task<int> RemoveIdleConsumersAsync(TimeSpan idle)
    {
        RedisResult reply;
        try
        {
            reply = await Database.ExecuteAsync("XINFO", "CONSUMERS", Key, Group).ConfigureAwait(false);
        }
        catch (RedisServerException)
        {
            return 0;
        }

        var removed = 0;
        foreach (var consumer in (RedisResult[])reply!)
        {
            var info = ToMap((RedisResult[])consumer!);
            var name = (string)info["name"]!;
            if (name != ConsumerName && (long)info["pending"] == 0 && (long)info["idle"] > (long)idle.TotalMilliseconds)
            {
                await Database.ExecuteAsync("XGROUP", "DELCONSUMER", Key, Group, name).ConfigureAwait(false);
                LogConsumerRemoved(_logger, name);
                removed++;
            }
        }

        return removed;
    }

    /// <summary>Entries not yet acknowledged by the group (for tests and diagnostics).</summary>
    public async Task<long> PendingCountAsync()
    {
        var summary = (RedisResult[])(await Database.ExecuteAsync("XPENDING", Key, Group).ConfigureAwait(false))!;
        return (long)summary[0];
    }

    public async ValueTask DisposeAsync()
    {
        if (_reader is { } reader)
        {
            _reader = null;
            await reader.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            reader.Dispose();
        }

        _readerGate.Dispose();
    }

    private async Task<ConnectionMultiplexer> ReaderAsync()
    {
        if (_reader is { } existing)
        {
            return existing;
        }

        await _readerGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_reader is null)
            {
                var options = ConfigurationOptions.Parse(_readerConnectionString);
                options.AbortOnConnectFail = false;
                options.ClientName = "usageworker-reader";
                // A blocked read is a command in flight: it must not time out before Redis answers it.
                options.AsyncTimeout = Math.Max(options.AsyncTimeout, 65_000);
                _reader = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
            }

            return _reader;
        }
        finally
        {
            _readerGate.Release();
        }
    }

    /// <summary>Parses <c>[[id, [field, value, …]], …]</c>; nil entries (deleted) are skipped.</summary>
    internal static IReadOnlyList<StreamEntry> ParseEntries(RedisResult reply)
    {
        if (reply.IsNull)
        {
            return [];
        }

        var items = (RedisResult[])reply!;
        var entries = new List<StreamEntry>(items.Length);
        foreach (var item in items)
        {
            if (item.IsNull)
            {
                continue;
            }

            var parts = (RedisResult[])item!;
            if (parts.Length < 2 || parts[1].IsNull)
            {
                continue;
            }

            entries.Add(new StreamEntry((string)parts[0]!, (string[])parts[1]!));
        }

        return entries;
    }

    private static Dictionary<string, RedisResult> ToMap(RedisResult[] pairs)
    {
        var map = new Dictionary<string, RedisResult>(pairs.Length / 2, StringComparer.Ordinal);
        for (var i = 0; i + 1 < pairs.Length; i += 2)
        {
            map[(string)pairs[i]!] = pairs[i + 1];
        }

        return map;
    }

    [LoggerMessage(EventId = 3021, Level = LogLevel.Information, Message = "Created consumer group {Group} on {Stream}")]
    private static partial void LogGroupCreated(ILogger logger, string stream, string group);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Warning, Message = "Consumer group {Group} on {Stream} is missing (Redis was flushed or replaced); recreating it")]
    private static partial void LogGroupMissing(ILogger logger, string stream, string group);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Debug, Message = "Trimmed {Count} acknowledged entries below {MinId}")]
    private static partial void LogTrimmed(ILogger logger, long count, string minId);

    [LoggerMessage(EventId = 3024, Level = LogLevel.Information, Message = "Removed idle consumer {Consumer} from the usage group")]
    private static partial void LogConsumerRemoved(ILogger logger, string consumer);
}

/// <summary>A stream entry id <c>ms-seq</c>, ordered as Redis orders them.</summary>
internal readonly record struct StreamId(ulong Milliseconds, ulong Sequence) : IComparable<StreamId>
{
    public bool IsZero => Milliseconds == 0 && Sequence == 0;

    public static StreamId Parse(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return dash < 0
            ? new StreamId(ulong.Parse(id, CultureInfo.InvariantCulture), 0)
            : new StreamId(ulong.Parse(id.AsSpan(0, dash), CultureInfo.InvariantCulture), ulong.Parse(id.AsSpan(dash + 1), CultureInfo.InvariantCulture));
    }

    public static StreamId Min(StreamId a, StreamId b) => a.CompareTo(b) <= 0 ? a : b;

    public int CompareTo(StreamId other) =>
        Milliseconds != other.Milliseconds ? Milliseconds.CompareTo(other.Milliseconds) : Sequence.CompareTo(other.Sequence);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Milliseconds}-{Sequence}");
}
