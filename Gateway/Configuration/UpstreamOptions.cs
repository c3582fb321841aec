using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Configuration;

/// <summary>The model provider the gateway forwards to (section <c>Upstream</c>).</summary>
public sealed class UpstreamOptions
{
    public const string SectionName = "Upstream";

    /// <summary><c>https://api.anthropic.com</c>, or a service name such as <c>http://upstream</c> resolved by service discovery.</summary>
    [Required]
    public Uri? BaseUrl { get; set; }

    /// <summary>The real provider key. Sent upstream as <c>x-api-key</c>; never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Name of the upstream in usage events and metrics; defaults to the host of <see cref="BaseUrl"/>.</summary>
    public string? Name { get; set; }

    /// <summary>TCP (and TLS) connect timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest wait for the response headers. A non-streaming call only answers when generation is done, so this is
    /// generous; there is deliberately no total timeout (streams last minutes).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan FirstByteTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Once the response has started, the longest the upstream may send nothing at all (Anthropic sends <c>ping</c>
    /// events while it works). A stalled stream then ends with an <c>event: error</c> and its usage is recorded as
    /// estimated, instead of holding the client until it gives up.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Retries before the first response byte (connection errors, 408, 409, 429, 5xx, 529).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>First retry delay; doubled per attempt, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A <c>retry-after</c> longer than this is not waited for: the answer goes to the client instead.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Connections are recycled after this long so DNS changes are picked up.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Send the gateway's trace context (<c>traceparent</c>/<c>tracestate</c>) to the upstream, as a child span of
    /// the request. Off by default: a model provider is outside the caller's trace (the gateway's own
    /// <c>chat {model}</c> span already times the call), and without it the upstream call creates no extra span.
    /// </summary>
    public bool PropagateTraceContext { get; set; }

    public bool HasApiKey => !string.IsNullOrEmpty(ApiKey);
}

[OptionsValidator]
public sealed partial class UpstreamOptionsValidator : IValidateOptions<UpstreamOptions>;
