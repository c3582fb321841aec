using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlmGateway.AppHost.Hosting;

/// <summary>
/// Starts a service again when its process ends with a failure (a crash, an out-of-memory kill), with a growing delay
/// between attempts. DCP leaves an exited executable exited; a gateway that dies at night should not stay down. A
/// service stopped on purpose (the dashboard's Stop, a graceful shutdown: exit code 0) stays stopped.
/// </summary>
internal sealed partial class CrashedServiceRestarter(
    ResourceNotificationService notifications,
    ResourceCommandService commands,
    ResourceLoggerService resourceLogs,
    ILogger<CrashedServiceRestarter> logger) : BackgroundService
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, (int Failures, DateTime Last)> _history = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                if (change.Resource is ProjectResource
                    && change.Snapshot.State?.Text is var state && (state == KnownResourceStates.Exited || state == KnownResourceStates.Finished)
                    && change.Snapshot.ExitCode is int code && code != 0
                    && change.Snapshot.StopTimeStamp is { } stopped
                    && (!_history.TryGetValue(change.ResourceId, out var seen) || seen.Last != stopped))
                {
                    var failures = _history.TryGetValue(change.ResourceId, out var previous) && stopped - previous.Last < TimeSpan.FromMinutes(5)
                        ? previous.Failures + 1
                        : 1;
                    _history[change.ResourceId] = (failures, stopped);
                    _ = RestartAsync(change.ResourceId, code, failures, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RestartAsync(string resourceId, int exitCode, int failures, CancellationToken ct)
    {
        var delay = TimeSpan.FromSeconds(Math.Min(MaxDelay.TotalSeconds, Math.Pow(2, failures - 1)));
        resourceLogs.GetLogger(resourceId).LogWarning(
            "exited with code {ExitCode}; restarting in {Delay:0.#} s (failure {Failures} in a row)", exitCode, delay.TotalSeconds, failures);
        try
        {
            await Task.Delay(delay, ct).ConfigureAwait(false);
            var start = commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, ct);

            // A restart does not wait for the service's dependencies (WaitFor orders the first start only): a service
            // has to come up on its own while, say, PostgreSQL is down, and say it is not ready. The start command on
            // a resource that waits makes it stop waiting.
            while (!start.IsCompleted)
            {
                if (notifications.TryGetCurrentState(resourceId, out var current) && current.Snapshot.State?.Text == KnownResourceStates.Waiting)
                {
                    await commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, ct).ConfigureAwait(false);
                }

                await Task.WhenAny(start, Task.Delay(200, ct)).ConfigureAwait(false);
            }

            var result = await start.ConfigureAwait(false);
            if (!result.Success)
            {
                LogRestartFailed(logger, resourceId, result.Message);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(1, LogLevel.Error, "Restarting {ResourceId} failed: {Error}")]
    private static partial void LogRestartFailed(ILogger logger, string resourceId, string? error);
}
