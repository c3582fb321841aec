namespace LlmGateway.UpstreamSimulator;

/// <summary>Settings bound from the <c>Simulator</c> configuration section.</summary>
public sealed class SimulatorOptions
{
    public const string SectionName = "Simulator";

    /// <summary>
    /// When set, the credential (Anthropic routes: <c>x-api-key</c> or <c>Authorization: Bearer</c>; OpenAI routes:
    /// <c>Authorization: Bearer</c>) must equal this value, otherwise 401. When empty, any non-empty credential passes.
    /// </summary>
    public string? ExpectedApiKey { get; set; }

    /// <summary>Value of the <c>anthropic-organization-id</c> response header; empty to omit the header.</summary>
    public string? OrganizationId { get; set; } = "5f3c2a8e-0d4b-4c61-9a7e-51ab7c0de001";

    /// <summary>Words generated when the request has no <see cref="SimulatorHeaders.OutputTokens"/> header.</summary>
    public int DefaultOutputTokens { get; set; } = 12;

    /// <summary>Words per text delta when the request has no <see cref="SimulatorHeaders.WordsPerDelta"/> header.</summary>
    public int WordsPerDelta { get; set; } = 1;

    /// <summary>Default <c>retry-after</c> seconds for simulated 429 and 529 responses.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Largest accepted request body; larger bodies get 413 <c>request_too_large</c> (the real API's limit is 32 MB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>How many tagged requests are remembered for <c>/sim/requests</c>; the oldest tag is forgotten first.</summary>
    public int MaxRecordedRequests { get; set; } = 1000;

    /// <summary>Per tagged request, how many request and response body bytes are kept.</summary>
    public int MaxRecordedBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Upper bound for the <c>timeoutMs</c> of a waiting <c>/sim/requests</c> query.</summary>
    public int MaxControlWaitMs { get; set; } = 60_000;

    internal bool IsValid(out string? error)
    {
        error = DefaultOutputTokens < 0 ? "Simulator:DefaultOutputTokens must be >= 0"
            : WordsPerDelta < 1 ? "Simulator:WordsPerDelta must be >= 1"
            : RetryAfterSeconds < 0 ? "Simulator:RetryAfterSeconds must be >= 0"
            : MaxRequestBodyBytes < 1 ? "Simulator:MaxRequestBodyBytes must be >= 1"
            : MaxRecordedRequests < 1 ? "Simulator:MaxRecordedRequests must be >= 1"
            : MaxRecordedBodyBytes < 0 ? "Simulator:MaxRecordedBodyBytes must be >= 0"
            : MaxControlWaitMs < 0 ? "Simulator:MaxControlWaitMs must be >= 0"
            : null;
        return error is null;
    }
}
