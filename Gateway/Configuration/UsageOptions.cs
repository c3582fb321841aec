using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Configuration;

/// <summary>Usage events: the queue to Redis and the on-disk spool used while Redis is away (section <c>Gateway:Usage</c>).</summary>
public sealed class UsageOptions
{
    public const string SectionName = "Gateway:Usage";

    /// <summary>
    /// Root folder of the spool. Each running instance locks its own numbered slot below it, so replicas on one host
    /// never share files and a restarted instance picks its slot's leftovers up. Default: <c>.state/usage-spool</c>
    /// under the content root.
    /// </summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>Events waiting for the background writer; when full, request completion waits (no event is dropped).</summary>
    [Range(16, 10_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Events per spool file; a file is deleted once all its events are acknowledged by Redis.</summary>
    [Range(1, 1_000_000)]
    public int SpoolSegmentEvents { get; set; } = 1_000;

    /// <summary>How often a non-empty spool is offered to Redis again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ReplayInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the background writer gathers events after the first one arrives before it writes them, as one Redis
    /// command, to the stream. Longer gathers larger batches (less Redis and CPU work per request); zero writes
    /// whatever is queued at once. A full batch is written without waiting.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Longest wait for Redis to acknowledge a batch before it is spooled instead.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

[OptionsValidator]
public sealed partial class UsageOptionsValidator : IValidateOptions<UsageOptions>;
