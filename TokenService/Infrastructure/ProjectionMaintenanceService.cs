using LlmGateway.Contracts;
using LlmGateway.TokenService.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// Keeps the Redis projection complete without an operator: re-projects once the schema is ready (start-up), whenever
/// the Redis connection is restored, when a projection write failed, and when the sentinel
/// <see cref="RedisKeys.CredentialEpoch"/> is missing (checked every <see cref="ProjectionOptions.CheckInterval"/>:
/// FLUSHALL, a replaced or restarted Redis without persistence).
/// </summary>
public sealed partial class ProjectionMaintenanceService(
    CredentialReprojection reprojection,
    CredentialProjector projector,
    DatabaseReadiness readiness,
    IConnectionMultiplexer redis,
    IOptions<ProjectionOptions> options,
    ILogger<ProjectionMaintenanceService> logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0);
    private int _restored;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            await readiness.WaitAsync(stoppingToken);
            string? pending = "start-up";
            var failuresSeen = projector.FailureCount;
            var wasConnected = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (!redis.IsConnected)
                    {
                        if (wasConnected)
                        {
                            LogRedisUnavailable();
                        }

                        wasConnected = false;
                        pending ??= "Redis was unreachable";
                    }
                    else
                    {
                        wasConnected = true;
                        if (Interlocked.Exchange(ref _restored, 0) == 1)
                        {
                            pending ??= "the Redis connection was restored";
                        }

                        var failures = projector.FailureCount;
                        if (failures != failuresSeen)
                        {
                            pending ??= "a projection write failed";
                        }

                        if (pending is null && !await redis.GetDatabase().KeyExistsAsync(RedisKeys.CredentialEpoch).WaitAsync(CredentialProjector.Timeout, stoppingToken))
                        {
                            pending = "the projection sentinel is missing (Redis flushed or replaced)";
                        }

                        if (pending is not null && await reprojection.RunAsync(pending, stoppingToken) is not null)
                        {
                            pending = null;
                            failuresSeen = failures;
                        }
                    }
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    pending ??= "the previous attempt failed";
                    LogFailed(e, e.Message);
                }

                await _wake.WaitAsync(options.Value.CheckIntervalValue, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            redis.ConnectionRestored -= OnConnectionRestored;
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        Interlocked.Exchange(ref _restored, 1);
        _wake.Release();
    }

    [LoggerMessage(EventId = 2041, Level = LogLevel.Warning, Message = "Redis is unreachable; credentials stay valid through introspection and are re-projected when it is back")]
    private partial void LogRedisUnavailable();

    [LoggerMessage(EventId = 2042, Level = LogLevel.Warning, Message = "Re-projection failed, retrying: {Reason}")]
    private partial void LogFailed(Exception exception, string reason);
}
