using Microsoft.Extensions.Options;

namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>
/// Keeps the usage stream small: trims entries every consumer group has acknowledged (never one still pending or not
/// yet delivered) and removes consumers of stopped instances that hold nothing. Every replica runs it; both steps are
/// idempotent.
/// </summary>
internal sealed partial class StreamMaintenanceService(
    UsageStream stream,
    IOptions<UsageWorkerOptions> options,
    ILogger<StreamMaintenanceService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.MaintenanceInterval;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await stream.TrimAcknowledgedAsync().ConfigureAwait(false);
                    await stream.RemoveIdleConsumersAsync(options.Value.IdleConsumerTimeout).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogMaintenanceFailed(logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 3081, Level = LogLevel.Debug, Message = "Usage stream maintenance skipped this round: {Reason}")]
    private static partial void LogMaintenanceFailed(ILogger logger, string reason);
}
