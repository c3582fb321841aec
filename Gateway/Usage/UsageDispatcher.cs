using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Telemetry;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Usage;

/// <summary>
/// The single writer of usage events: drains the queue into the Redis stream in batches, each one Redis command
/// (after the first event of a batch arrives it gathers for <see cref="UsageOptions.FlushInterval"/>, so a busy
/// gateway writes a few batches a second rather than one command per request); while Redis is
/// unavailable, and for as long as older entries wait in the spool, appends to the spool instead (so the stream
/// receives entries in order), and replays the spool oldest first whenever Redis is back.
/// On shutdown it drains the queue completely (to Redis, or to the spool if Redis does not answer in time).
/// </summary>
internal sealed partial class UsageDispatcher(
    UsageEmitter emitter,
    UsageSpool spool,
    UsageStreamWriter stream,
    GatewayTelemetry telemetry,
    IOptions<UsageOptions> options,
    ILogger<UsageDispatcher> logger) : BackgroundService
{
    private const int BatchSize = 256;
    private readonly TimeSpan _replayInterval = options.Value.ReplayInterval;
    private readonly TimeSpan _flushInterval = options.Value.FlushInterval;
    private volatile bool _stopping;
    private volatile bool _shuttingDownHard;
    private bool _spooling;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Not stoppingToken: the loop ends when the queue is completed and empty, so nothing queued is dropped.
        await Task.Yield();
        var reader = emitter.Reader;
        var batch = new List<UsageRecord>(BatchSize);
        var entries = new List<string[]>(BatchSize);
        Task<bool>? waiting = null;
        while (true)
        {
            waiting ??= reader.WaitToReadAsync().AsTask();
            if (spool.HasPending && !_shuttingDownHard)
            {
                var first = await Task.WhenAny(waiting, Task.Delay(_replayInterval, CancellationToken.None));
                if (first != waiting)
                {
                    await ReplayAsync();
                    continue;
                }
            }

            var more = await waiting;
            waiting = null;
            if (!more)
            {
                break;
            }

            if (_flushInterval > TimeSpan.Zero && !_stopping && reader.Count < BatchSize)
            {
                // Gather: the requests behind this one join its batch.
                await Task.Delay(_flushInterval, CancellationToken.None);
            }

            batch.Clear();
            while (batch.Count < BatchSize && reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            entries.Clear();
            foreach (var record in batch)
            {
                entries.Add(record.ToFields());
            }

            await WriteAsync(entries);
        }

        if (!_shuttingDownHard && spool.HasPending)
        {
            await ReplayAsync();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        emitter.Complete();
        // If the host's shutdown budget runs out, stop waiting for Redis and put the rest on disk.
        await using var registration = cancellationToken.Register(() => _shuttingDownHard = true);
        if (ExecuteTask is { } running)
        {
            await running;
        }
    }

    private async Task WriteAsync(List<string[]> entries)
    {
        if (_shuttingDownHard || spool.HasPending || !stream.IsAvailable)
        {
            // Behind older spooled entries (or no Redis): keep the order by queueing on disk.
            spool.Append(entries);
            NoteSpooling(entries.Count);
            if (!_shuttingDownHard && stream.IsAvailable)
            {
                await ReplayAsync();
            }

            return;
        }

        var written = await stream.WriteAsync(entries);
        if (written < entries.Count)
        {
            spool.Append(entries.GetRange(written, entries.Count - written));
            NoteSpooling(entries.Count - written);
        }
    }

    private async Task ReplayAsync()
    {
        while (!_shuttingDownHard && stream.IsAvailable && spool.TryPeekOldest(out var segment))
        {
            var acknowledged = 0;
            while (acknowledged < segment.Entries.Count)
            {
                var chunk = segment.Entries.GetRange(acknowledged, Math.Min(BatchSize, segment.Entries.Count - acknowledged));
                var written = await stream.WriteAsync(chunk);
                acknowledged += written;
                if (written < chunk.Count)
                {
                    break;
                }
            }

            spool.Acknowledge(segment, acknowledged);
            if (acknowledged < segment.Entries.Count)
            {
                return;
            }

            LogReplayedSegment(logger, acknowledged);
        }

        if (_spooling && !spool.HasPending)
        {
            _spooling = false;
            LogSpoolDrained(logger);
        }
    }

    private void NoteSpooling(int count)
    {
        if (!_spooling)
        {
            _spooling = true;
            LogSpooling(logger, spool.Directory);
        }

        telemetry.UsageSpooled.Add(count);
        LogSpooled(logger, count);
    }

    [LoggerMessage(1311, LogLevel.Warning, "Redis unavailable for usage events; spooling to {Directory}")]
    private static partial void LogSpooling(ILogger logger, string directory);

    [LoggerMessage(1312, LogLevel.Debug, "{Count} usage event(s) spooled")]
    private static partial void LogSpooled(ILogger logger, int count);

    [LoggerMessage(1313, LogLevel.Information, "Replayed {Count} spooled usage event(s) to Redis")]
    private static partial void LogReplayedSegment(ILogger logger, int count);

    [LoggerMessage(1314, LogLevel.Information, "Usage spool drained; writing to Redis directly again")]
    private static partial void LogSpoolDrained(ILogger logger);
}
