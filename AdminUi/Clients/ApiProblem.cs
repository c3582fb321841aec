using System.Diagnostics.CodeAnalysis;

namespace LlmGateway.AdminUi.Clients;

/// <summary>
/// Why an API call did not give what the page needed, in words a person can act on: the API's own message when it
/// answered (its error type and request id kept for support), or what went wrong on the way when it did not.
/// </summary>
/// <param name="Service">Who was asked, as operators know it (e.g. "TokenService").</param>
/// <param name="Status">The HTTP status; null when there was no answer.</param>
/// <param name="Type">The API's error type (<c>invalid_request_error</c>, …) when it gave one.</param>
/// <param name="Message">The API's message, or what happened.</param>
/// <param name="RequestId">The request id of the answer, to find it in the logs.</param>
public sealed record ApiProblem(string Service, int? Status, string? Type, string Message, string? RequestId)
{
    public string Title => Status switch
    {
        null => $"{Service} could not be reached",
        400 or 422 => $"{Service} refused the request",
        401 => "Your key was not accepted",
        402 => "Budget exhausted",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict",
        429 => "Too many requests",
        502 or 503 or 504 => $"{Service} is unavailable",
        >= 500 => $"{Service} failed",
        _ => $"{Service} answered {Status}",
    };

    /// <summary>The key behind the session is no longer accepted (revoked, expired, or TokenService forgot it).</summary>
    public bool SessionRejected => Status == 401;

    public bool IsNotFound => Status == 404;
}

/// <summary>What an API call gave: a value, or a problem.</summary>
public readonly record struct ApiResult<T>(T? Value, ApiProblem? Problem)
{
    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Problem))]
    public bool Ok => Problem is null;

    public static implicit operator ApiResult<T>(ApiProblem problem) => new(default, problem);
}
