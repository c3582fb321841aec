using LlmGateway.Contracts;
using LlmGateway.Gateway.Configuration;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Usage;

/// <summary>
/// Appends usage entries to <see cref="RedisKeys.UsageStream"/> with <c>XADD</c> (StackExchange.Redis 1.2.6 has no
/// stream API; <see cref="IDatabaseAsync.ExecuteAsync(string, object[])"/> runs the raw command). No <c>MAXLEN</c>:
/// the UsageWorker trims below what it has acknowledged.
/// </summary>
internal sealed class UsageStreamWriter(IConnectionMultiplexer redis, IOptions<UsageOptions> options)
{
    private readonly TimeSpan _timeout = options.Value.WriteTimeout;

    public bool IsAvailable => redis.IsConnected;

    /// <summary>
    /// Writes the entries in order, pipelined, and returns how many leading entries Redis acknowledged. Entries after
    /// the first failure count as not written (a few may have been stored anyway: their request ids deduplicate).
    /// </summary>
    public async Task<int> WriteAsync(IReadOnlyList<string[]> entries)
    {
        if (entries.Count == 0)
        {
            return 0;
        }

        if (!redis.IsConnected)
        {
            return 0;
        }

        var database = redis.GetDatabase();
        var pending = new Task<RedisResult>[entries.Count];
        try
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var fields = entries[i];
                var args = new object[fields.Length + 2];
                args[0] = (RedisKey)RedisKeys.UsageStream;
                args[1] = "*";
                Array.Copy(fields, 0, args, 2, fields.Length);
                pending[i] = database.ExecuteAsync("XADD", args);
            }
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            // Issuing failed part-way; what was issued is still awaited below.
        }

        try
        {
            await Task.WhenAll(pending.Where(t => t is not null)).WaitAsync(_timeout);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Counted below.
        }

        var acknowledged = 0;
        while (acknowledged < pending.Length && pending[acknowledged] is { IsCompletedSuccessfully: true })
        {
            acknowledged++;
        }

        foreach (var task in pending)
        {
            // Observe late failures so they do not surface as unobserved task exceptions.
            _ = task?.ContinueWith(static t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        }

        return acknowledged;
    }
}
