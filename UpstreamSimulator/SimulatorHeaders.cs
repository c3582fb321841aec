namespace LlmGateway.UpstreamSimulator;

/// <summary>
/// Request headers that steer the simulator. This class is the one place they are written down; the
/// README next to it lists them with the <c>/sim</c> control endpoints.
/// </summary>
/// <remarks>
/// Every control header is optional; a request without any of them (what benchmarks send) takes the
/// fast path and behaves like a healthy upstream. A control header with a malformed value is answered
/// with 400 <c>invalid_request_error</c> in the route's own error shape, naming the header.
/// Delays are in milliseconds; integer values are plain non-negative decimal numbers.
/// </remarks>
public static class SimulatorHeaders
{
    /// <summary>Delay before anything is sent (the response headers included). 0–600000.</summary>
    public const string LatencyMs = "x-sim-latency-ms";

    /// <summary>
    /// Time to first token: a delay just before the first event that carries generated content
    /// (Anthropic: before the first <c>content_block_start</c>, after <c>message_start</c>; OpenAI: after the
    /// role chunk; legacy completions: before the first <c>completion</c> event). For non-streaming
    /// responses it adds to <see cref="LatencyMs"/>. 0–600000.
    /// </summary>
    public const string TtftMs = "x-sim-ttft-ms";

    /// <summary>
    /// Delay between two consecutive SSE events (not before the first one), kept as a cadence: event n is due n delays
    /// after the first, so timer lateness does not accumulate over a stream. 0–600000.
    /// </summary>
    public const string EventDelayMs = "x-sim-event-delay-ms";

    /// <summary>
    /// Answer with this HTTP status (400–599) and an error body of the matching type instead of a reply,
    /// e.g. 429 <c>rate_limit_error</c> (with <c>retry-after</c>), 500 <c>api_error</c>, 529 <c>overloaded_error</c>.
    /// Checked after authentication and the <c>anthropic-version</c> check, before the body is read.
    /// </summary>
    public const string Status = "x-sim-status";

    /// <summary>
    /// With <see cref="Status"/> and <see cref="RequestTag"/>: fail only the first N attempts carrying that tag,
    /// then answer normally (for retry and fallback tests). Without a tag, or when absent, every request fails.
    /// </summary>
    public const string StatusTimes = "x-sim-status-times";

    /// <summary>
    /// The <c>retry-after</c> value (whole seconds) sent with a simulated error. Defaults to
    /// <c>Simulator:RetryAfterSeconds</c> for 429 and 529; other statuses carry it only when this header is given.
    /// </summary>
    public const string RetryAfter = "x-sim-retry-after";

    /// <summary>
    /// Close the connection abruptly (abort the HTTP context, no terminating chunk) right after the N-th SSE event
    /// has been flushed; 0 aborts right after the response headers. For a non-streaming response, N counts body
    /// bytes instead: the full <c>content-length</c> is announced and only N bytes are sent. A stream with N or
    /// fewer events completes normally.
    /// </summary>
    public const string CutAfter = "x-sim-cut-after";

    /// <summary>
    /// After N SSE events, send an in-stream error (Anthropic <c>event: error</c> with <c>overloaded_error</c>,
    /// OpenAI <c>data: {"error":…}</c>) and end the response cleanly, as the real APIs do when they fail mid-stream.
    /// </summary>
    public const string ErrorAfter = "x-sim-error-after";

    /// <summary>
    /// Number of words to generate (one word = one output token), capped by the request's max tokens.
    /// Defaults to <c>Simulator:DefaultOutputTokens</c>. 0–1000000.
    /// </summary>
    public const string OutputTokens = "x-sim-output-tokens";

    /// <summary>Words per text delta / chunk. Defaults to <c>Simulator:WordsPerDelta</c>. 1–10000.</summary>
    public const string WordsPerDelta = "x-sim-words-per-delta";

    /// <summary>Reported <c>cache_read_input_tokens</c> (OpenAI: <c>prompt_tokens_details.cached_tokens</c>, included in <c>prompt_tokens</c>).</summary>
    public const string CacheReadTokens = "x-sim-cache-read-tokens";

    /// <summary>Reported <c>cache_creation_input_tokens</c> (all of it as 5-minute cache writes).</summary>
    public const string CacheCreationTokens = "x-sim-cache-creation-tokens";

    /// <summary>
    /// Gate id for the no-buffering handshake: the response headers are flushed at once, then every SSE event
    /// waits for one release of this gate (<c>POST /sim/gates/{id}/release</c>). Releases may arrive before the
    /// stream starts; the gate is removed when the stream ends. One stream per gate id.
    /// </summary>
    public const string Gate = "x-sim-gate";

    /// <summary>
    /// Record this request under the given tag (at most 200 characters) so a test can query it at
    /// <c>GET /sim/requests/{tag}</c>. Untagged requests are not recorded.
    /// </summary>
    public const string RequestTag = "x-sim-request-tag";
}
