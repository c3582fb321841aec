using LlmGateway.Contracts;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Routing;

/// <summary>
/// Carries breaker resets to every gateway instance over <see cref="RedisKeys.CircuitBreakerEvents"/>: an admin's
/// reset reaches one instance, and each instance holds its own breakers. Messages: <c>reset:*</c>,
/// <c>reset:{name}</c>. Pub/sub is fire-and-forget: an instance that is disconnected at that moment keeps its
/// breaker, which closes by itself after its next successful probe.
/// </summary>
internal sealed partial class CircuitBreakerBroadcast(
    IConnectionMultiplexer redis,
    CircuitBreakerRegistry breakers,
    ILogger<CircuitBreakerBroadcast> logger) : BackgroundService
{
    private const string ResetPrefix = "reset:";
    private const string All = "*";
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    public bool IsSubscribed { get; private set; }

    /// <summary>Publishes a reset; returns whether Redis took it.</summary>
    public async Task<bool> PublishResetAsync(string? name)
    {
        try
        {
            await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.CircuitBreakerEvents), ResetPrefix + (name ?? All));
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogPublishFailed(logger, ex.Message);
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested && !IsSubscribed)
        {
            if (redis.IsConnected)
            {
                try
                {
                    await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.CircuitBreakerEvents), OnMessage);
                    IsSubscribed = true;
                    LogSubscribed(logger, RedisKeys.CircuitBreakerEvents);
                    return;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    LogSubscribeFailed(logger, ex.Message);
                }
            }

            try
            {
                await Task.Delay(RetryInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void OnMessage(RedisChannel channel, RedisValue message)
    {
        string? text = message;
        if (text is null || !text.StartsWith(ResetPrefix, StringComparison.Ordinal))
        {
            LogUnknownMessage(logger, text is null ? "" : text.Length > 80 ? text[..80] : text);
            return;
        }

        var name = text[ResetPrefix.Length..];
        breakers.Reset(name == All ? null : name, "broadcast");
    }

    [LoggerMessage(1811, LogLevel.Information, "Listening for circuit-breaker resets on {Channel}")]
    private static partial void LogSubscribed(ILogger logger, string channel);

    [LoggerMessage(1812, LogLevel.Warning, "Subscribing to circuit-breaker resets failed: {Reason}; retrying")]
    private static partial void LogSubscribeFailed(ILogger logger, string reason);

    [LoggerMessage(1813, LogLevel.Warning, "Publishing a circuit-breaker reset failed: {Reason}; only this instance was reset")]
    private static partial void LogPublishFailed(ILogger logger, string reason);

    [LoggerMessage(1814, LogLevel.Warning, "Unknown circuit-breaker message: {Message}")]
    private static partial void LogUnknownMessage(ILogger logger, string message);
}
