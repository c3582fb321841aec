using System.Security.Cryptography;
using System.Text.Json.Serialization;
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
        TypedResults.Json(new ApiError(new ApiErrorDetail(type, message), RequestIdOf(context)), statusCode: status);

    public static JsonHttpResult<ApiError> BadRequest(HttpContext context, string message) =>
        Result(context, StatusCodes.Status400BadRequest, "invalid_request_error", message);

    public static JsonHttpResult<ApiError> StoreUnavailable(HttpContext context) =>
        Result(context, StatusCodes.Status503ServiceUnavailable, "api_error", "Usage data is unavailable right now (the database is unreachable or not ready); retry shortly.");

    /// <summary>The request id the Gateway forwarded (<c>request-id</c>), else a new one; echoed in the response header.</summary>
    public static string RequestIdOf(HttpContext context)
    {
        if (context.Items.TryGetValue(typeof(ApiError), out var known) && known is string id)
        {
            return id;
        }

        var incoming = context.Request.Headers["request-id"].ToString();
        id = incoming.Length is > 0 and <= 200 && incoming.All(static c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
            ? incoming
            : "req_" + RandomNumberGenerator.GetHexString(24, lowercase: true);
        context.Items[typeof(ApiError)] = id;
        return id;
    }
}

public sealed record ApiErrorDetail(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("message")] string Message);
