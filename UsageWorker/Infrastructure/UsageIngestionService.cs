using System.Diagnostics;
using System.Threading.Channels;
using LlmGateway.ServiceDefaults.Data;
using LlmGateway.UsageWorker.Model;
using Microsoft.Extensions.Options;

namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>
/// Moves usage events from the Redis stream into PostgreSQL, each exactly once.
/// </summary>
/// <remarks>
/// <para>
/// A reader loop takes entries from the consumer group (new ones, and every <see cref="UsageWorkerOptions.ReclaimInterval"/>
/// those left pending by a dead consumer) and hands them through a small bounded channel to a writer loop, so the next
/// read overlaps the current write. The writer stores a batch in one transaction, then dead-letters the entries that
/// cannot be stored, then acknowledges them all. Acknowledging only after the commit gives at-least-once delivery;
/// the unique request id makes the stored result exactly-once.
/// </para>
/// <para>
/// Failures: PostgreSQL unreachable → the batch is retried with backoff for as long as it takes, nothing is
/// acknowledged and, the channel being full, nothing more is read. Reclaiming pauses while writes fail, so a long outage
/// does not inflate delivery counts. An entry that cannot be parsed is dead-lettered at once (parsing is deterministic);
/// a batch PostgreSQL refuses is bisected down to the refused entries, which are dead-lettered; an entry delivered
/// <see cref="UsageWorkerOptions.MaxDeliveries"/> times (it keeps killing its consumer) is dead-lettered when reclaimed.
/// </para>
/// </remarks>
internal sealed partial class UsageIngestionService(
    UsageStream stream,
    UsageStore store,
    UsageEventParser parser,
    [FromKeyedServices(UsageSchema.Component)] SchemaMigrator migrator,
    UsageWorkerMetrics metrics,
    IOptions<UsageWorkerOptions> options,
    ILogger<UsageIngestionService> logger) : BackgroundService
{
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private const int UnknownFailuresBeforeIsolating = 3;

    private readonly UsageWorkerOptions _options = options.Value;
    private readonly HashSet<string> _unpricedModels = new(StringComparer.Ordinal);
    private volatile bool _writesHealthy = true;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await migrator.WhenMigrated(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        LogStarted(logger, stream.ConsumerName);
        var channel = Channel.CreateBounded<IReadOnlyList<StreamEntry>>(
            new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

        // The writer outlives the stop signal by the drain timeout, to store what was already read.
        using var writerStop = new CancellationTokenSource();
        await using var drain = stoppingToken.Register(() => writerStop.CancelAfter(_options.DrainTimeout));

        var reading = ReadLoopAsync(channel.Writer, stoppingToken, writerStop.Token);
        var writing = WriteLoopAsync(channel.Reader, writerStop.Token);
        await Task.WhenAll(reading, writing).ConfigureAwait(false);
    }

    /// <param name="ct">Stops reading.</param>
    /// <param name="handOverCt">Stops handing over what was read: entries read just as the stop signal came are still
    /// given to the writer (which drains) rather than left pending until another instance reclaims them.</param>
    private async Task ReadLoopAsync(ChannelWriter<IReadOnlyList<StreamEntry>> output, CancellationToken ct, CancellationToken handOverCt)
    {
        var backoff = MinBackoff;
        var nextReclaim = DateTime.UtcNow;
        var failing = false;
        try
        {
            await stream.EnsureGroupAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // Redis may be down at start; the read below recreates the group when it answers.
            LogReadFailed(logger, ex.Message, ex);
            failing = true;
        }

        while (!ct.IsCancellationRequested)
        {
            try
            {
                IReadOnlyList<StreamEntry> entries;
                if (_writesHealthy && DateTime.UtcNow >= nextReclaim)
                {
                    entries = await stream.ClaimIdleAsync(_options.ReclaimMinIdle, _options.ReadBatchSize).ConfigureAwait(false);
                    // A full claim means there may be more: claim again right away.
                    nextReclaim = entries.Count >= _options.ReadBatchSize ? DateTime.UtcNow : DateTime.UtcNow + _options.ReclaimInterval;
                    if (entries.Count > 0)
                    {
                        LogReclaimed(logger, entries.Count);
                    }
                }
                else
                {
                    entries = await stream.ReadNewAsync(_options.ReadBatchSize, _options.ReadBlockTimeout, ct).ConfigureAwait(false);
                }

                if (failing)
                {
                    LogReadRecovered(logger);
                    failing = false;
                }

                backoff = MinBackoff;
                if (entries.Count > 0)
                {
                    await output.WriteAsync(entries, handOverCt).ConfigureAwait(false);
                    if (entries.Count < _options.ReadBatchSize && _options.ReadLinger > TimeSpan.Zero)
                    {
                        // A trickle: let more gather, so PostgreSQL sees one transaction per linger, not one per event batch.
                        await Task.Delay(_options.ReadLinger, ct).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested || handOverCt.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                if (!failing)
                {
                    LogReadFailed(logger, ex.Message, ex);
                    failing = true;
                }

                try
                {
                    await Task.Delay(backoff, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = Next(backoff);
            }
        }

        output.TryComplete();
    }

    private async Task WriteLoopAsync(ChannelReader<IReadOnlyList<StreamEntry>> input, CancellationToken ct)
    {
        try
        {
            while (await input.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                var entries = new List<StreamEntry>();
                while (entries.Count < _options.MaxWriteBatchSize && input.TryRead(out var more))
                {
                    entries.AddRange(more);
                }

                await ProcessAsync(entries, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Whatever was read and not stored stays pending and is reclaimed by another instance (or this one after
            // a restart).
        }
        finally
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Store, dead-letter, acknowledge: in that order, so that nothing is acknowledged before it is safe.</summary>
    internal async Task ProcessAsync(IReadOnlyList<StreamEntry> entries, CancellationToken ct)
    {
        var pending = new List<Parsed>(entries.Count);
        var refused = new List<(StreamEntry Entry, string Reason, string Cause)>();
        foreach (var entry in entries)
        {
            if (entry.Deliveries > _options.MaxDeliveries)
            {
                refused.Add((entry, $"delivered {entry.Deliveries} times without being stored", "deliveries"));
            }
            else if (parser.TryParse(entry.Fields, out var usage, out var error))
            {
                pending.Add(new Parsed(entry, usage));
                if (!usage.Priced)
                {
                    NoteUnpriced(usage.Model);
                }
            }
            else
            {
                refused.Add((entry, "invalid usage event: " + error, "invalid"));
            }
        }

        foreach (var (entry, reason) in await StoreAsync(pending, ct).ConfigureAwait(false))
        {
            refused.Add((entry, "refused by PostgreSQL: " + reason, "refused"));
        }

        foreach (var (entry, reason, cause) in refused)
        {
            await UntilDoneAsync(() => stream.DeadLetterAsync(entry, reason), "dead-letter", ct).ConfigureAwait(false);
            metrics.DeadLettered(cause);
            LogDeadLettered(logger, entry.Id, RequestIdOf(entry), reason);
        }

        var ids = entries.Select(e => e.Id).ToList();
        await UntilDoneAsync(() => stream.AcknowledgeAsync(ids), "acknowledge", ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the batch, retrying transient failures until they pass. Returns the entries PostgreSQL refuses, found by
    /// bisecting a refused batch (the rest of it is stored).
    /// </summary>
    private async Task<List<(StreamEntry Entry, string Reason)>> StoreAsync(List<Parsed> batch, CancellationToken ct)
    {
        var refused = new List<(StreamEntry, string)>();
        if (batch.Count > 0)
        {
            await StoreIsolatingAsync(batch, refused, ct).ConfigureAwait(false);
        }

        return refused;
    }

    private async Task StoreIsolatingAsync(List<Parsed> batch, List<(StreamEntry, string)> refused, CancellationToken ct)
    {
        var backoff = MinBackoff;
        var unknownFailures = 0;
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var inserted = await store.WriteAsync(batch.ConvertAll(p => p.Event), ct).ConfigureAwait(false);
                metrics.Written(batch.Count, inserted, Stopwatch.GetElapsedTime(started));
                if (!_writesHealthy)
                {
                    _writesHealthy = true;
                    LogWritesRecovered(logger);
                }

                LogBatchStored(logger, batch.Count, inserted, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                var kind = StoreFailure.Classify(ex);
                metrics.WriteFailed(kind);
                if (kind == StoreFailureKind.BadData || (kind == StoreFailureKind.Unknown && ++unknownFailures >= UnknownFailuresBeforeIsolating))
                {
                    if (batch.Count == 1)
                    {
                        refused.Add((batch[0].Entry, ex.Message));
                        return;
                    }

                    LogIsolating(logger, batch.Count, ex.Message);
                    var half = batch.Count / 2;
                    await StoreIsolatingAsync(batch[..half], refused, ct).ConfigureAwait(false);
                    await StoreIsolatingAsync(batch[half..], refused, ct).ConfigureAwait(false);
                    return;
                }

                if (_writesHealthy)
                {
                    _writesHealthy = false;
                    LogWriteFailed(logger, batch.Count, kind, ex.Message, ex);
                }

                await Task.Delay(backoff, ct).ConfigureAwait(false);
                backoff = Next(backoff);
            }
        }
    }

    /// <summary>Retries a Redis step with backoff until it succeeds or the writer must stop.</summary>
    private async Task UntilDoneAsync(Func<Task> step, string what, CancellationToken ct)
    {
        var backoff = MinBackoff;
        var logged = false;
        while (true)
        {
            try
            {
                await step().ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                if (!logged)
                {
                    LogRedisStepFailed(logger, what, ex.Message, ex);
                    logged = true;
                }

                await Task.Delay(backoff, ct).ConfigureAwait(false);
                backoff = Next(backoff);
            }
        }
    }

    private static string RequestIdOf(StreamEntry entry)
    {
        for (var i = 0; i + 1 < entry.Fields.Length; i += 2)
        {
            if (entry.Fields[i] == Contracts.Usage.UsageEventFields.RequestId)
            {
                var id = entry.Fields[i + 1];
                id = id.Length <= UsageEventParser.MaxRequestIdLength ? id : id[..UsageEventParser.MaxRequestIdLength] + "…";
                return string.Create(id.Length, id, static (span, source) =>
                {
                    for (var j = 0; j < span.Length; j++)
                    {
                        span[j] = char.IsControl(source[j]) ? '?' : source[j];
                    }
                });
            }
        }

        return "(none)";
    }

    /// <summary>Warns once per model (up to a bound) that events are stored without a cost.</summary>
    private void NoteUnpriced(string? model)
    {
        var name = model ?? "(none)";
        lock (_unpricedModels)
        {
            if (_unpricedModels.Count >= 100 || !_unpricedModels.Add(name))
            {
                return;
            }
        }

        LogUnpriced(logger, name);
    }

    private static TimeSpan Next(TimeSpan backoff) => TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));

    private sealed record Parsed(StreamEntry Entry, UsageEvent Event);

    [LoggerMessage(EventId = 3061, Level = LogLevel.Information, Message = "Usage ingestion started as consumer {Consumer}")]
    private static partial void LogStarted(ILogger logger, string consumer);

    [LoggerMessage(EventId = 3062, Level = LogLevel.Warning, Message = "Reading the usage stream failed, retrying: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(EventId = 3063, Level = LogLevel.Information, Message = "Reading the usage stream works again")]
    private static partial void LogReadRecovered(ILogger logger);

    [LoggerMessage(EventId = 3064, Level = LogLevel.Information, Message = "Took over {Count} usage entries left pending by a stopped consumer")]
    private static partial void LogReclaimed(ILogger logger, int count);

    [LoggerMessage(EventId = 3065, Level = LogLevel.Debug, Message = "Stored a batch of {Count} usage events ({Inserted} new) in {Milliseconds:0.0} ms")]
    private static partial void LogBatchStored(ILogger logger, int count, int inserted, double milliseconds);

    [LoggerMessage(EventId = 3066, Level = LogLevel.Warning, Message = "Storing {Count} usage events failed ({Kind}); retrying until PostgreSQL accepts them, nothing is acknowledged meanwhile: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, int count, StoreFailureKind kind, string reason, Exception exception);

    [LoggerMessage(EventId = 3067, Level = LogLevel.Information, Message = "Storing usage events works again")]
    private static partial void LogWritesRecovered(ILogger logger);

    [LoggerMessage(EventId = 3068, Level = LogLevel.Warning, Message = "PostgreSQL refused a batch of {Count} usage events ({Reason}); bisecting to find the bad entries")]
    private static partial void LogIsolating(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 3069, Level = LogLevel.Error, Message = "Usage entry {EntryId} (request {RequestId}) moved to the dead-letter stream: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string entryId, string requestId, string reason);

    [LoggerMessage(EventId = 3070, Level = LogLevel.Warning, Message = "Model {Model} has no price (Pricing:Models); its usage is stored with cost 0 and priced = false")]
    private static partial void LogUnpriced(ILogger logger, string model);

    [LoggerMessage(EventId = 3071, Level = LogLevel.Warning, Message = "Redis step '{Step}' failed, retrying: {Reason}")]
    private static partial void LogRedisStepFailed(ILogger logger, string step, string reason, Exception exception);
}
