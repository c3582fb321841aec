using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// Every way forwarding can fail, by side (client or upstream) and by phase (before or after the response started).
/// The kind decides the status code, the error type, the log level and the metric tag (one exception, in
/// <see cref="ForwardingFailures.Report"/>: a caller's body refused for its size is a 413, not the kind's 400).
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

/// <summary>What one failure kind means: the answer to the client, the log level and the <c>error.type</c> tag.</summary>
internal readonly record struct FailureReport(int Status, string ErrorType, string Message, LogLevel Level, string Tag);

/// <summary>
/// The one place a <see cref="ForwardingFailure"/> is turned into the client's status and error, the log line, and the
/// error type that usage events and metrics record; every outbound call (model, pass-through, control plane, model
/// list) reports a failure to get an answer through <see cref="Report"/> (the model list also logs an answer it cannot
/// use: an error status, an unreadable list).
/// </summary>
internal static partial class ForwardingFailures
{
    /// <summary>Status recorded for a request the client abandoned (there is no response to send).</summary>
    public const int ClientClosedRequest = 499;

    /// <summary>How the messages name the model provider; the control plane names its service instead.</summary>
    public const string UpstreamApi = "The upstream API";

    /// <summary>
    /// Logs the failure of the call <paramref name="requestId"/> made to <paramref name="target"/> and says what the
    /// client is told. A caller's body refused for its size (<paramref name="error"/>) is a 413, not a 400.
    /// </summary>
    public static FailureReport Report(
        ILogger logger, ForwardingFailure failure, string requestId, string target, int attempts, Exception? error, string? reason = null,
        string api = UpstreamApi)
    {
        var report = Describe(failure, api);
        if (failure == ForwardingFailure.RequestBody && RequestBodyReader.FindBadRequest(error) is { StatusCode: 413 })
        {
            report = report with { Status = 413, ErrorType = AnthropicErrors.RequestTooLarge, Message = "The request body is larger than the gateway accepts." };
        }

        if (report.Level != LogLevel.None)
        {
            LogFailure(logger, report.Level, requestId, target, report.Tag, attempts, reason ?? error?.Message ?? "-");
        }

        return report;
    }

    /// <summary>
    /// The error type a usage event and the request metrics record: the failure's tag, else the upstream's own error type
    /// (<paramref name="upstreamErrorType"/>, read from its answer) or the one its status stands for.
    /// </summary>
    public static string? RecordedErrorType(ForwardingFailure failure, int status, string? upstreamErrorType = null) => failure switch
    {
        ForwardingFailure.None => upstreamErrorType ?? (status >= 400 ? AnthropicErrors.TypeForStatus(status) : null),
        ForwardingFailure.ResponseBodyUpstream => upstreamErrorType ?? Tag(failure),
        _ => Tag(failure),
    };

    /// <summary>
    /// What the client is told; before the response started as an error body, after it as an error frame. Without
    /// logging: for a failure <see cref="Report"/> has already logged where it happened.
    /// </summary>
    public static FailureReport Describe(ForwardingFailure failure, string api = UpstreamApi) => failure switch
    {
        ForwardingFailure.RequestBody => new(400, AnthropicErrors.InvalidRequest, "The request body could not be read.", LogLevel.Information, Tag(failure)),
        ForwardingFailure.UpstreamUnreachable => new(502, AnthropicErrors.Api, api + " could not be reached.", LogLevel.Warning, Tag(failure)),
        ForwardingFailure.UpstreamTimeout => new(504, AnthropicErrors.Timeout, api + " did not answer in time.", LogLevel.Warning, Tag(failure)),
        // Logged as an error where it is found, with what the provider said.
        ForwardingFailure.UpstreamRejectedCredential => new(502, AnthropicErrors.Api,
            "The upstream API refused this gateway's provider credential; the gateway operator must fix its upstream key. Your own key was accepted.",
            LogLevel.None, Tag(failure)),
        ForwardingFailure.NoHealthyUpstream => new(503, AnthropicErrors.Overloaded,
            "No upstream is available for this model: every circuit breaker is open. Retry after the time in retry-after.", LogLevel.Warning, Tag(failure)),
        ForwardingFailure.NoUpstreamForModel => new(404, AnthropicErrors.NotFound, "No upstream serves this model.", LogLevel.Warning, Tag(failure)),
        ForwardingFailure.ResponseBodyUpstream => new(502, AnthropicErrors.Api, api + " ended the response before it was complete.", LogLevel.Warning, Tag(failure)),
        ForwardingFailure.ResponseBodyStalled => new(504, AnthropicErrors.Timeout,
            api + " stopped sending in the middle of the response; the gateway ended it after its activity timeout.", LogLevel.Warning, Tag(failure)),
        ForwardingFailure.ResponseBodyClient => new(ClientClosedRequest, AnthropicErrors.Api, "The client closed the request.", LogLevel.Information, Tag(failure)),
        // Nobody is left to answer or to read about it.
        _ => new(ClientClosedRequest, AnthropicErrors.Api, "The client closed the request.", LogLevel.None, Tag(failure)),
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

    [LoggerMessage(EventId = 1203, Message = "{RequestId}: {Target} failed ({Failure}) after {Attempts} attempt(s): {Reason}")]
    private static partial void LogFailure(ILogger logger, LogLevel level, string requestId, string target, string failure, int attempts, string reason);
}
