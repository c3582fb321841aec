namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>An entry of a Redis stream: its id and its field/value pairs, alternating, as stored.</summary>
internal sealed record StreamEntry(string Id, string[] Fields)
{
    /// <summary>How often the consumer group delivered it (1 on the first read; grows with every reclaim).</summary>
    public long Deliveries { get; init; } = 1;
}
