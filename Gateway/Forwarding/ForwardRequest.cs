using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Streaming;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// What to forward. The path is matched by the caller; the query string is kept as sent (e.g. <c>?beta=true</c>).
/// <see cref="Plan"/> is the order of targets to try (null: the default upstream). <see cref="FixedTarget"/> marks one of the few fixed model routes, whose upstream URI is parsed once and reused.
/// <see cref="OpenAiBody"/> is the same Messages request as Chat Completions, sent instead of <see cref="Body"/> to an
/// OpenAI-compatible target (whose answer is translated back, <c>Translation/OpenAiUpstream</c>).
/// <see cref="OAuth"/>: the caller's key is served by an upstream OAuth account; Anthropic targets get its token
/// (<c>Authorization: Bearer</c> + <c>anthropic-beta: oauth-2025-04-20</c>) instead of their configured key.
/// </summary>
internal readonly record struct ForwardRequest(
    string RequestId,
    string PathAndQuery,
    PooledBody? Body,
    SseUsageReader? EventReader = null,
    JsonUsageReader? JsonReader = null,
    bool FixedTarget = false,
    LlmGateway.Gateway.Routing.RoutePlan? Plan = null,
    PooledBody? OpenAiBody = null,
    UpstreamOAuthGrant? OAuth = null)
{
    /// <summary>No buffered body: the caller's body stream is sent as it arrives (cannot be retried).</summary>
    public bool StreamsRequestBody => Body is null;
}

/// <summary>How forwarding went, with the timestamps the pipeline needs for latency, time to first byte and overhead.</summary>
internal readonly record struct ForwardResult(
    ForwardingFailure Failure,
    int StatusCode,
    UpstreamEndpoint? Upstream,
    int Attempts,
    bool EventStream,
    long SendStarted,
    long HeadersReceived,
    long FirstByteWritten,
    Exception? Error);

/// <summary>What <see cref="UpstreamForwarder.FetchAsync"/> got: the upstream's answer, or the failure that left none.</summary>
internal readonly record struct UpstreamFetch(ForwardingFailure Failure, int StatusCode, string? ContentType, byte[]? Body);
