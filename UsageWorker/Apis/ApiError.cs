using System.Text.Json.Serialization;
using LlmGateway.ServiceDefaults.Requests;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LlmGateway.UsageWorker.Apis;

/// <summary>Anthropic's error shape: <c>{"type":"error","error":{"type","message"},"request_id"}</c>.</summary>
public sealed record ApiError(
    [property: JsonPropertyName("error")] ApiErrorDetail Error,
    [property: JsonPropertyName("request_id")] string RequestId)
{
    [JsonPropertyName("type")]
    [JsonPropertyOrder(-1)]
    public string Type => "error";

    public static JsonHttpResult<ApiError> Result(HttpContext context, int status, string type, string message) =>
        TypedResults.Json(new ApiError(new ApiErrorDetail(type, message), RequestIds.Of(context)), statusCode: status);

    public static JsonHttpResult<ApiError> BadRequest(HttpContext context, string message) =>
        Result(context, StatusCodes.Status400BadRequest, "invalid_request_error", message);

    public static JsonHttpResult<ApiError> StoreUnavailable(HttpContext context) =>
        Result(context, StatusCodes.Status503ServiceUnavailable, "api_error", "Usage data is unavailable right now (the database is unreachable or not ready); retry shortly.");

    /// <summary>The answer for a bare status code (routing's 404/405), in the same shape.</summary>
    public static JsonHttpResult<ApiError> ForStatus(HttpContext context, int status) => status switch
    {
        StatusCodes.Status404NotFound => Result(context, status, "not_found_error", $"Not found: {context.Request.Method} {context.Request.Path}"),
        StatusCodes.Status405MethodNotAllowed => Result(context, status, "invalid_request_error", $"{context.Request.Method} is not allowed on {context.Request.Path}."),
        < 500 => Result(context, status, "invalid_request_error", "The request was refused."),
        _ => Result(context, status, "api_error", "Internal error."),
    };
}

public sealed record ApiErrorDetail(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("message")] string Message);
