using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Streaming;

namespace LlmGateway.Gateway.Admission;

/// <summary>
/// The limits step of the hot path (design steps 5 and 7): admit a request before it is forwarded (requests/min,
/// tokens/min, concurrency, budget reservation — atomically, one Redis round trip) and settle it afterwards with
/// the actual usage, also when the client went away or the upstream failed.
/// </summary>
/// <remarks>
/// Optional: when no implementation is registered, the pipeline forwards without limits. Every admitted request is
/// settled exactly once, whatever happened to it.
/// </remarks>
internal interface IRequestAdmission
{
    ValueTask<AdmissionDecision> AdmitAsync(AdmissionRequest request, CancellationToken cancellationToken);

    /// <summary>Releases what <see cref="AdmitAsync"/> reserved and charges what was actually used. Must not throw.</summary>
    ValueTask SettleAsync(AdmissionTicket ticket, AdmissionOutcome outcome);
}

/// <summary>
/// What admission decides on: who is calling, which route and model, and the most output it may cost.
/// <paramref name="MeteredTokens"/> is false for routes that consume no tokens (count_tokens): only requests/min and
/// concurrency apply to them.
/// </summary>
internal readonly record struct AdmissionRequest(
    string RequestId,
    CredentialProjection Credential,
    string Route,
    string? Model,
    int? MaxTokens,
    bool Stream,
    int RequestBodyBytes,
    bool MeteredTokens = true);

/// <summary>
/// Admission's answer. A refusal carries the HTTP status (429 for rate limits, 402 for budgets, 503 when limits cannot
/// be checked), the Anthropic error type and message, and optionally a <c>retry-after</c>. Either may carry the
/// rate-limit headers the response gets.
/// </summary>
internal readonly record struct AdmissionDecision(
    bool Admitted,
    AdmissionTicket? Ticket,
    int Status = 429,
    string? ErrorType = null,
    string? Message = null,
    TimeSpan? RetryAfter = null)
{
    public RateLimitHeaders? Headers { get; init; }

    public static AdmissionDecision Admit(AdmissionTicket? ticket, RateLimitHeaders? headers = null) => new(true, ticket) { Headers = headers };

    public static AdmissionDecision Refuse(int status, string errorType, string message, TimeSpan? retryAfter = null, RateLimitHeaders? headers = null) =>
        new(false, null, status, errorType, message, retryAfter) { Headers = headers };
}

/// <summary>What an admitted request holds (concurrency slot, budget reservation), given back at settlement.</summary>
internal abstract class AdmissionTicket;

/// <summary>How an admitted request ended: the final usage (estimated when the stream did not complete) and its status.</summary>
internal readonly record struct AdmissionOutcome(ResponseUsage Usage, bool Estimated, int Status, string? ErrorType, string? Upstream = null);
