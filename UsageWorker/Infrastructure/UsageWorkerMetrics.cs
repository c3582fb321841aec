using System.Diagnostics.Metrics;

namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>The UsageWorker's instruments (meter <c>LlmGateway.UsageWorker</c>).</summary>
internal sealed class UsageWorkerMetrics
{
    public const string MeterName = "LlmGateway.UsageWorker";

    private readonly Counter<long> _stored;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _writeFailures;
    private readonly Histogram<double> _batchDuration;
    private readonly Histogram<long> _batchSize;

    public UsageWorkerMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _stored = meter.CreateCounter<long>("llmgateway.usageworker.events.stored", "{event}", "Usage events newly stored in PostgreSQL");
        _duplicates = meter.CreateCounter<long>("llmgateway.usageworker.events.duplicate", "{event}", "Re-delivered usage events that were already stored");
        _deadLettered = meter.CreateCounter<long>("llmgateway.usageworker.events.dead_lettered", "{event}", "Usage events moved to the dead-letter stream");
        _writeFailures = meter.CreateCounter<long>("llmgateway.usageworker.write.failures", "{failure}", "Failed PostgreSQL batch writes, by kind");
        _batchDuration = meter.CreateHistogram<double>("llmgateway.usageworker.write.duration", "s", "Duration of one PostgreSQL batch write");
        _batchSize = meter.CreateHistogram<long>("llmgateway.usageworker.write.size", "{event}", "Events per PostgreSQL batch write");
    }

    public void Written(int total, int inserted, TimeSpan duration)
    {
        _stored.Add(inserted);
        _duplicates.Add(total - inserted);
        _batchSize.Record(total);
        _batchDuration.Record(duration.TotalSeconds);
    }

    public void DeadLettered(string cause) => _deadLettered.Add(1, new KeyValuePair<string, object?>("cause", cause));

    public void WriteFailed(StoreFailureKind kind) => _writeFailures.Add(1, new KeyValuePair<string, object?>("kind", kind.ToString()));
}
