using System.Net;
using Polly;
using Polly.Timeout;

namespace LlmGateway.ServiceDefaults.Resilience;

/// <summary>
/// What the retry and circuit-breaker strategies treat as a transient failure: 5xx, 408 and 429 responses,
/// <see cref="HttpRequestException"/>, an attempt timeout, and a connect timeout the caller did not cause.
/// </summary>
public static class HttpTransientFailure
{
    public static bool IsTransient(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        return status >= 500 || response.StatusCode == HttpStatusCode.RequestTimeout || status == 429;
    }

    public static bool IsTransient(Exception exception, CancellationToken callerToken) => exception switch
    {
        HttpRequestException => true,
        TimeoutRejectedException => true,
        // SocketsHttpHandler.ConnectTimeout surfaces as a cancellation wrapping a TimeoutException.
        OperationCanceledException { InnerException: TimeoutException } => !callerToken.IsCancellationRequested,
        _ => false,
    };

    public static bool IsTransient(Outcome<HttpResponseMessage> outcome, CancellationToken callerToken) => outcome switch
    {
        { Exception: { } exception } => IsTransient(exception, callerToken),
        { Result: { } response } => IsTransient(response),
        _ => false,
    };
}
