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

    /// <summary>The usage event of one request, waiting for the background writer to deliver it.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> WaitForAsync(IConnectionMultiplexer redis, string requestId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var match = (await ReadAllAsync(redis)).FirstOrDefault(e => e.GetValueOrDefault("request_id") == requestId);
            if (match is not null)
            {
                return match;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no usage event for {requestId}");
            await Task.Delay(20);
        }
    }
}
