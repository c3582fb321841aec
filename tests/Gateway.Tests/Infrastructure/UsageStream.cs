using LlmGateway.Contracts;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Infrastructure;

/// <summary>Reads the usage stream the way the UsageWorker sees it.</summary>
public static class UsageStream
{
    public static async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> ReadAllAsync(IConnectionMultiplexer redis)
    {
        var result = await redis.GetDatabase().ExecuteAsync("XRANGE", (RedisKey)RedisKeys.UsageStream, "-", "+");
        var entries = new List<IReadOnlyDictionary<string, string>>();
        if (result.IsNull)
        {
            return entries;
        }

        foreach (var entry in (RedisResult[])result!)
        {
            var parts = (RedisResult[])entry!;
            var fields = (RedisResult[])parts[1]!;
            var map = new Dictionary<string, string>();
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                map[(string)fields[i]!] = (string)fields[i + 1]!;
            }

            entries.Add(map);
        }

        return entries;
    }

    /// <summary>
    /// Waits until the stream holds <paramref name="count"/> events of a credential, failing at once if there are
    /// ever more.
    /// </summary>
    public static async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> WaitForCountAsync(
        IConnectionMultiplexer redis, string credentialId, int count, Func<IReadOnlyDictionary<string, string>, bool>? filter = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            IReadOnlyList<IReadOnlyDictionary<string, string>> events;
            try
            {
                events = (await ReadAllAsync(redis))
                    .Where(e => e.GetValueOrDefault("credential_id") == credentialId && (filter?.Invoke(e) ?? true))
                    .ToList();
            }
            catch (RedisConnectionException)
            {
                events = [];
            }

            Assert.True(events.Count <= count, $"{events.Count} usage events for {credentialId}, expected {count}");
            if (events.Count == count)
            {
                return events;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{events.Count} usage events for {credentialId} after 60 s, expected {count}");
            await Task.Delay(50);
        }
    }

    /// <summary>The usage event of one request, waiting for the background writer to deliver it.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> WaitForAsync(IConnectionMultiplexer redis, string requestId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            IReadOnlyDictionary<string, string>? match;
            try
            {
                match = (await ReadAllAsync(redis)).FirstOrDefault(e => e.GetValueOrDefault("request_id") == requestId);
            }
            catch (RedisConnectionException)
            {
                match = null; // the test's own connection is still coming back after a Redis restart
            }

            if (match is not null)
            {
                return match;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no usage event for {requestId}");
            await Task.Delay(20);
        }
    }
}
