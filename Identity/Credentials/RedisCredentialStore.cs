using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace LlmGateway.Identity.Credentials;

/// <summary>
/// Reads credential projections written by TokenService (<see cref="RedisKeys.Credential"/>): the first source of every
/// service that resolves a caller's credential (the Gateway behind its cache, the UsageWorker), before
/// <see cref="TokenServiceIntrospection"/>.
/// </summary>
public sealed partial class RedisCredentialStore(IConnectionMultiplexer redis, TimeSpan timeout, ILogger<RedisCredentialStore> logger)
{
    private readonly TimeSpan _timeout = timeout;

    public async Task<CredentialLookup> FindAsync(string hashHex)
    {
        if (!redis.IsConnected)
        {
            return CredentialLookup.Unavailable;
        }

        RedisValue value;
        try
        {
            value = await redis.GetDatabase().StringGetAsync(RedisKeys.Credential(hashHex)).WaitAsync(_timeout);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            LogRedisUnavailable(logger, ex.GetType().Name, ex.Message);
            return CredentialLookup.Unavailable;
        }

        if (value.IsNull)
        {
            return CredentialLookup.NotFound;
        }

        try
        {
            var projection = CredentialProjectionJson.Read((byte[])value!);
            return projection is null ? CredentialLookup.Unavailable : CredentialLookup.Found(projection);
        }
        catch (JsonException ex)
        {
            // A projection the gateway cannot read: let TokenService answer instead of rejecting the caller.
            LogUnreadableProjection(logger, ex.Message);
            return CredentialLookup.Unavailable;
        }
    }

    [LoggerMessage(1101, LogLevel.Warning, "Credential projection read from Redis failed ({ExceptionType}: {Reason}); asking TokenService")]
    private static partial void LogRedisUnavailable(ILogger logger, string exceptionType, string reason);

    [LoggerMessage(1102, LogLevel.Error, "Credential projection in Redis is not readable: {Reason}")]
    private static partial void LogUnreadableProjection(ILogger logger, string reason);
}
