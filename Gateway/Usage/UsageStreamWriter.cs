using LlmGateway.Contracts;
using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Usage;

/// <summary>
/// Appends usage entries to <see cref="RedisKeys.UsageStream"/> in as few Redis commands as possible: a small Lua
/// script runs one <c>XADD</c> per entry, in order, for a whole batch (one script call per flush instead of one
/// round trip per event), over the hot path's <see cref="ScriptRunner"/>. No <c>MAXLEN</c>: the UsageWorker trims
/// below what it has acknowledged.
/// </summary>
internal sealed class UsageStreamWriter(ScriptRunner redis, IOptions<UsageOptions> options)
{
    /// <summary>
    /// ARGV holds the entries back to back, each as its field/value count followed by its fields and values.
    /// A script runs atomically and returns how many entries it added; if it fails part-way, the entries before the
    /// failure stay (the caller counts the command as not written and sends it again: request ids deduplicate).
    /// </summary>
    internal static readonly RedisScript AppendScript = new("""
        local i, added = 1, 0
        while i <= #ARGV do
          local n = tonumber(ARGV[i])
          redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + n))
          added = added + 1
          i = i + n + 1
        end
        return added
        """) { SendSource = true };

    /// <summary>
    /// Arguments per command: a batch of ordinary events (about 45 arguments each) fits in one command of about ninety
    /// events (a script blocks Redis while it runs: this bounds it). Fewer when the runner builds an argument array
    /// (<see cref="ScriptRunner.MaxGroupArguments"/>): one of 4,096 was 131 KB on the large-object heap per flush, and
    /// every collection of the gateway a full one (dotnet-trace gc-verbose under load: all GCs gen 2, AllocLarge).
    /// </summary>
    internal const int MaxArgumentsPerCommand = 4096;

    private static readonly RedisKey[] StreamKey = [RedisKeys.UsageStream];

    private readonly TimeSpan _timeout = options.Value.WriteTimeout;

    public bool IsAvailable => redis.IsAvailable;

    /// <summary>
    /// Writes the entries in order, one command per <see cref="MaxArgumentsPerCommand"/> arguments at most (pipelined;
    /// usually one), and returns how many leading entries Redis acknowledged. Entries of a command that failed or
    /// timed out, and of every command after it, count as not written (some may have been stored anyway: their
    /// request ids deduplicate when they are sent again).
    /// </summary>
    public async Task<int> WriteAsync(IReadOnlyList<string[]> entries)
    {
        if (entries.Count == 0 || !redis.IsAvailable)
        {
            return 0;
        }

        var maxArguments = Math.Min(MaxArgumentsPerCommand, redis.MaxGroupArguments);
        var commands = new List<(Task<RespReply> Added, int Entries)>(1);
        try
        {
            var start = 0;
            while (start < entries.Count)
            {
                var end = start;
                var length = 0;
                do
                {
                    length += 1 + entries[end].Length;
                    end++;
                }
                while (end < entries.Count && length + 1 + entries[end].Length <= maxArguments);

                commands.Add((redis.EvaluateAsync(AppendScript, StreamKey, entries, start, end), end - start));
                start = end;
            }
        }
        catch (Exception ex) when (ex is RedisException or RespException or ObjectDisposedException)
        {
            // Issuing failed part-way; what was issued is still awaited below.
        }

        var acknowledged = 0;
        var failed = false;
        foreach (var (added, count) in commands)
        {
            if (!failed)
            {
                try
                {
                    if ((await added.WaitAsync(_timeout)).AsInt64() == count)
                    {
                        acknowledged += count;
                        continue;
                    }
                }
                catch (Exception ex) when (ex is RedisException or RespException or TimeoutException or ObjectDisposedException or InvalidCastException)
                {
                    // Counted below.
                }

                failed = true;
            }

            // Observe late failures so they do not surface as unobserved task exceptions.
            _ = added.ContinueWith(static t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        }

        return acknowledged;
    }
}
