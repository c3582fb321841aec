
namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// Every way forwarding can fail, by side (client or upstream) and by phase (before or after the response started).
/// The kind alone decides the status code, the error type, the log level and the metric tag.
/// </summary>
internal enum ForwardingFailure
{
    None,

    /// <summary>The client went away before the response started.</summary>
    RequestCanceled,

    /// <summary>The caller's request body could not be read (or grew past the limit) while it was being sent.</summary>
    RequestBody,

    /// <summary>No response from the upstream: connection, TLS or send failure, after the allowed retries.</summary>
    UpstreamUnreachable,

    /// <summary>The upstream did not start its response within the time-to-first-byte limit.</summary>
    UpstreamTimeout,

    /// <summary>
    /// The upstream answered 401/403: it refused the gateway's own provider credential. The operator's fault, never the
    /// caller's, so it must not reach the caller as if their key were wrong.
    /// </summary>
    UpstreamRejectedCredential,

    /// <summary>Every target that serves the model has its circuit breaker open: nothing was sent.</summary>
    NoHealthyUpstream,

    /// <summary>No configured upstream serves the requested model.</summary>
    NoUpstreamForModel,

    /// <summary>The response had started when the upstream failed or ended it early.</summary>
    ResponseBodyUpstream,

    /// <summary>The response had started when the client went away; the upstream call was cancelled.</summary>
    ResponseBodyClient,

    /// <summary>The response had started, then the upstream sent nothing for <c>Upstream:ActivityTimeout</c>.</summary>
    ResponseBodyStalled,
}

internal static class ForwardingFailures
{
    /// <summary>Status recorded for a request the client abandoned (there is no response to send).</summary>
    public const int ClientClosedRequest = 499;

    /// <summary>What the client is told when the failure happens before the response started.</summary>
    public static (int Status, string ErrorType, string Message) Describe(ForwardingFailure failure) => failure switch
    {
        ForwardingFailure.RequestBody => (400, AnthropicErrors.InvalidRequest, "The request body could not be read."),
        ForwardingFailure.UpstreamUnreachable => (502, AnthropicErrors.Api, "The upstream API could not be reached."),
        ForwardingFailure.UpstreamTimeout => (504, AnthropicErrors.Timeout, "The upstream API did not answer in time."),
        ForwardingFailure.UpstreamRejectedCredential => (502, AnthropicErrors.Api,
            "The upstream API refused this gateway's provider credential; the gateway operator must fix its upstream key. Your own key was accepted."),
        ForwardingFailure.NoHealthyUpstream => (503, AnthropicErrors.Overloaded, "No upstream is available for this model: every circuit breaker is open. Retry after the time in retry-after."),
        ForwardingFailure.NoUpstreamForModel => (404, AnthropicErrors.NotFound, "No upstream serves this model."),
        ForwardingFailure.ResponseBodyUpstream => (502, AnthropicErrors.Api, "The upstream API ended the response before it was complete."),
        ForwardingFailure.ResponseBodyStalled => (504, AnthropicErrors.Timeout,
            "The upstream API stopped sending in the middle of the response; the gateway ended it after its activity timeout."),
        _ => (ClientClosedRequest, AnthropicErrors.Api, "The client closed the request."),
    };

    /// <summary>Value of the <c>error.type</c> metric tag and of the usage event's error type for gateway-side failures.</summary>
    public static string Tag(ForwardingFailure failure) => failure switch
    {
        ForwardingFailure.RequestCanceled => "client_closed_request",
        ForwardingFailure.RequestBody => "request_body",
        ForwardingFailure.UpstreamUnreachable => "upstream_unreachable",
        ForwardingFailure.UpstreamTimeout => "upstream_timeout",
        ForwardingFailure.UpstreamRejectedCredential => "upstream_credential_rejected",
        ForwardingFailure.NoHealthyUpstream => "circuit_open",
        ForwardingFailure.NoUpstreamForModel => "no_upstream",
        ForwardingFailure.ResponseBodyUpstream => "upstream_stream_cut",
        ForwardingFailure.ResponseBodyClient => "client_disconnected",
        ForwardingFailure.ResponseBodyStalled => "upstream_stream_stalled",
        _ => "none",
    };
}
