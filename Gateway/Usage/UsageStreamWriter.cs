using LlmGateway.Contracts;
using LlmGateway.Gateway.Configuration;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Usage;

/// <summary>
/// Appends usage entries to <see cref="RedisKeys.UsageStream"/>: a whole batch in ONE Redis command, a small Lua
/// script that runs one <c>XADD</c> per entry in order (StackExchange.Redis 1.2.6 has no stream API, and one command
/// per event costs a client round of queueing, locking and completion per request). No <c>MAXLEN</c>: the
/// UsageWorker trims below what it has acknowledged.
/// </summary>
internal sealed class UsageStreamWriter(IConnectionMultiplexer redis, IOptions<UsageOptions> options)
{
    /// <summary>
    /// ARGV holds the entries back to back, each as its field/value count followed by its fields and values.
    /// A script runs atomically and returns how many entries it added; if it fails part-way, the entries before the
    /// failure stay (the caller counts the batch as not written and sends it again: request ids deduplicate).
    /// </summary>
    internal const string AppendScript = """
        local i, added = 1, 0
        while i <= #ARGV do
          local n = tonumber(ARGV[i])
          redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + n))
          added = added + 1
          i = i + n + 1
        end
        return added
        """;

    private static readonly RedisKey[] StreamKey = [RedisKeys.UsageStream];

    private readonly TimeSpan _timeout = options.Value.WriteTimeout;

    public bool IsAvailable => redis.IsConnected;

    /// <summary>
    /// Writes the entries in order, in one command, and returns how many leading entries Redis acknowledged: all of
    /// them, or none (when the command failed or timed out; some may have been stored anyway, and their request ids
    /// deduplicate when they are sent again).
    /// </summary>
    public async Task<int> WriteAsync(IReadOnlyList<string[]> entries)
    {
        if (entries.Count == 0 || !redis.IsConnected)
        {
            return 0;
        }

        var length = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            length += 1 + entries[i].Length;
        }

        var values = new RedisValue[length];
        var next = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            var fields = entries[i];
            values[next++] = fields.Length;
            for (var f = 0; f < fields.Length; f++)
            {
                values[next++] = fields[f];
            }
        }

        Task<RedisResult> pending;
        try
        {
            pending = redis.GetDatabase().ScriptEvaluateAsync(AppendScript, StreamKey, values);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            return 0;
        }

        try
        {
            var added = (long)await pending.WaitAsync(_timeout);
            return added == entries.Count ? entries.Count : 0;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException or InvalidCastException)
        {
            // Observe a late failure so it does not surface as an unobserved task exception.
            _ = pending.ContinueWith(static t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            return 0;
        }
    }
}
