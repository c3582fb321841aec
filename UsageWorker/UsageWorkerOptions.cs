using System.ComponentModel.DataAnnotations;

namespace LlmGateway.UsageWorker;

/// <summary>Configuration section <c>UsageWorker</c>. Every value has a production default.</summary>
public sealed class UsageWorkerOptions
{
    public const string SectionName = "UsageWorker";

    /// <summary>
    /// This instance's consumer name in the group. Default <c>{machine}-{pid}</c>, unique per process; a stable name
    /// (e.g. a StatefulSet pod name) lets a restarted instance pick up its own pending entries without waiting for
    /// <see cref="ReclaimMinIdle"/>.
    /// </summary>
    public string? ConsumerName { get; set; }

    /// <summary>Entries per read from the stream (<c>XREADGROUP COUNT</c>).</summary>
    [Range(1, 10_000)]
    public int ReadBatchSize { get; set; } = 1000;

    /// <summary>Most events written in one PostgreSQL transaction (several reads are merged when the writer is behind).</summary>
    [Range(1, 50_000)]
    public int MaxWriteBatchSize { get; set; } = 5000;

    /// <summary>How long one blocking read waits for new entries (on the reader's own Redis connection).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan ReadBlockTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// After a read that did not fill a batch, wait this long before reading again, so that a steady trickle of events
    /// becomes one PostgreSQL transaction per interval rather than one per gateway flush (a full read reads again at
    /// once). Events reach PostgreSQL this much later; 0 reads as soon as anything arrives.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:05")]
    public TimeSpan ReadLinger { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>An entry pending this long with any consumer is taken over (its consumer is presumed dead).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan ReclaimMinIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often to look for entries to take over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ReclaimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>An entry delivered this many times without being stored goes to the dead-letter stream.</summary>
    [Range(2, 1000)]
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>How often acknowledged entries are trimmed from the stream, and idle consumers removed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A consumer with nothing pending and idle this long is removed from the group.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan IdleConsumerTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often to check whether Redis lost the budget spend counters (and rebuild them from PostgreSQL).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SpendCheckInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>On shutdown, how long to keep writing batches already read before leaving them to other instances.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Base address of TokenService for credential introspection when Redis has no projection.</summary>
    [Required]
    public Uri TokenServiceUrl { get; set; } = new("http://tokenservice");
}
