using LlmGateway.Contracts;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Credentials;

/// <summary>
/// Subscribes to <see cref="RedisKeys.CredentialEvents"/> and evicts cached credentials the moment TokenService
/// revokes or changes them. Messages: <c>revoked:{hash}</c>, <c>updated:{hash}</c>, <c>reprojected</c>.
/// Pub/sub is fire-and-forget, so whenever the subscription connection was lost the whole cache is dropped on
/// reconnect: anything published meanwhile was missed.
/// </summary>
internal sealed partial class RevocationListener(
    IConnectionMultiplexer redis,
    CredentialCache cache,
    CredentialChannel channel,
    DisabledAccounts disabledAccounts,
    ILogger<RevocationListener> logger) : BackgroundService
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);
    private readonly SemaphoreSlim _wake = new(0);
    private volatile bool _subscribed;

    public bool IsSubscribed => _subscribed;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionFailed += OnConnectionFailed;
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!_subscribed)
                {
                    await TrySubscribeAsync();
                }

                try
                {
                    await _wake.WaitAsync(RetryInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            channel.MarkDown();
            redis.ConnectionFailed -= OnConnectionFailed;
            redis.ConnectionRestored -= OnConnectionRestored;
        }
    }

    private async Task TrySubscribeAsync()
    {
        if (!redis.IsConnected)
        {
            return;
        }

        try
        {
            await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.CredentialEvents), OnMessage);
            _subscribed = true;
            // Whatever was cached before the subscription existed may have missed a revocation (or a disabled account).
            cache.Clear();
            await disabledAccounts.LoadAsync(redis);
            channel.MarkLive();
            LogSubscribed(logger, RedisKeys.CredentialEvents);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogSubscribeFailed(logger, ex.Message);
        }
    }

    internal void OnMessage(RedisChannel channel, RedisValue message)
    {
        string? text = message;
        if (text is null)
        {
            return;
        }

        var span = text.AsSpan();
        if (span.SequenceEqual("reprojected"))
        {
            cache.Clear();
            LogCacheCleared(logger, "reprojected");
            return;
        }

        if (text.StartsWith("account-disabled:", StringComparison.Ordinal))
        {
            disabledAccounts.Add(text["account-disabled:".Length..]);
            LogEvicted(logger, "account disabled");
            return;
        }

        if (text.StartsWith("account-enabled:", StringComparison.Ordinal))
        {
            disabledAccounts.Remove(text["account-enabled:".Length..]);
            return;
        }

        var colon = span.IndexOf(':');
        if (colon > 0 && CredentialHash.TryParseHex(span[(colon + 1)..], out var hash)
            && (span[..colon].SequenceEqual("revoked") || span[..colon].SequenceEqual("updated")))
        {
            cache.Evict(hash);
            LogEvicted(logger, span[..colon].ToString());
            return;
        }

        LogUnknownMessage(logger, text.Length > 80 ? text[..80] : text);
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            channel.MarkDown();
            LogSubscriptionLost(logger, e.FailureType.ToString());
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            // The library re-sends the subscription itself; what we must do is forget what may have been missed.
            cache.Clear();
            _ = ReloadDisabledAccountsAsync();
            channel.MarkLive();
            LogCacheCleared(logger, "subscription connection restored");
            _wake.Release();
        }
    }

    private async Task ReloadDisabledAccountsAsync()
    {
        try
        {
            await disabledAccounts.LoadAsync(redis);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogSubscribeFailed(logger, "loading disabled accounts: " + ex.Message);
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(1131, LogLevel.Information, "Listening for credential changes on {Channel}")]
    private static partial void LogSubscribed(ILogger logger, string channel);

    [LoggerMessage(1132, LogLevel.Warning, "Subscribing to credential changes failed: {Reason}; retrying")]
    private static partial void LogSubscribeFailed(ILogger logger, string reason);

    [LoggerMessage(1133, LogLevel.Warning, "Credential change subscription lost ({FailureType}); cached credentials are re-validated with TokenService until it is back, and dropped on reconnect")]
    private static partial void LogSubscriptionLost(ILogger logger, string failureType);

    [LoggerMessage(1134, LogLevel.Information, "Credential cache cleared: {Reason}")]
    private static partial void LogCacheCleared(ILogger logger, string reason);

    [LoggerMessage(1135, LogLevel.Debug, "Credential evicted from cache ({Change})")]
    private static partial void LogEvicted(ILogger logger, string change);

    [LoggerMessage(1136, LogLevel.Warning, "Unknown credential change message: {Message}")]
    private static partial void LogUnknownMessage(ILogger logger, string message);
}
