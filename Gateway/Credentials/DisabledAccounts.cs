using System.Collections.Concurrent;
using LlmGateway.Contracts;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Credentials;

/// <summary>
/// Local accounts an administrator disabled. Their sign-in JWTs stay cryptographically valid until they expire, so the
/// gateway refuses them by this set: loaded from Redis (<see cref="RedisKeys.DisabledAccount"/>) whenever the credential
/// channel (re)subscribes, and kept current by its <c>account-disabled:</c>/<c>account-enabled:</c> messages
/// (<see cref="RevocationListener"/>). A lookup is a dictionary read: nothing on the hot path.
/// </summary>
internal sealed class DisabledAccounts
{
    private readonly ConcurrentDictionary<string, byte> _ids = new(StringComparer.Ordinal);

    public bool Contains(string userId) => !_ids.IsEmpty && _ids.ContainsKey(userId);

    public void Add(string userId) => _ids[userId] = 0;

    public void Remove(string userId) => _ids.TryRemove(userId, out _);

    /// <summary>Replaces the set with the markers in Redis (every primary scanned).</summary>
    public async Task LoadAsync(IConnectionMultiplexer redis)
    {
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in redis.GetServers())
        {
            if (server.IsReplica || !server.IsConnected)
            {
                continue;
            }

            await foreach (var key in server.KeysAsync(pattern: RedisKeys.DisabledAccountPrefix + "*", pageSize: 500))
            {
                loaded.Add(((string)key!)[RedisKeys.DisabledAccountPrefix.Length..]);
            }
        }

        foreach (var id in _ids.Keys)
        {
            if (!loaded.Contains(id))
            {
                _ids.TryRemove(id, out _);
            }
        }

        foreach (var id in loaded)
        {
            _ids[id] = 0;
        }
    }
}
