// UsageWorker answers errors in the shared envelope (Contracts/Errors). `ApiError` names it here so the handlers'
// result types (`JsonHttpResult<ApiError>`) read as before; the factories below are this service's own messages.
global using ApiError = LlmGateway.Contracts.Errors.AnthropicErrorEnvelope;
using LlmGateway.Contracts.Errors;
using LlmGateway.ServiceDefaults.Requests;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LlmGateway.UsageWorker.Apis;

/// <summary>UsageWorker's error results, in Anthropic's shape: <c>{"type":"error","error":{"type","message"},"request_id"}</c>.</summary>
public static class UsageApiErrors
{
    extension(AnthropicErrorEnvelope)
    {
        public static JsonHttpResult<AnthropicErrorEnvelope> Result(HttpContext context, int status, string type, string message) =>
            TypedResults.Json(AnthropicErrorEnvelope.Of(type, message, RequestIds.Of(context)), statusCode: status);

        public static JsonHttpResult<AnthropicErrorEnvelope> BadRequest(HttpContext context, string message) =>
            AnthropicErrorEnvelope.Result(context, StatusCodes.Status400BadRequest, AnthropicErrors.InvalidRequest, message);

        public static JsonHttpResult<AnthropicErrorEnvelope> StoreUnavailable(HttpContext context) =>
            AnthropicErrorEnvelope.Result(context, StatusCodes.Status503ServiceUnavailable, AnthropicErrors.Api,
                "Usage data is unavailable right now (the database is unreachable or not ready); retry shortly.");

        /// <summary>The answer for a bare status code (routing's 404/405), in the same shape.</summary>
        public static JsonHttpResult<AnthropicErrorEnvelope> ForStatus(HttpContext context, int status) => status switch
        {
            StatusCodes.Status404NotFound => AnthropicErrorEnvelope.Result(context, status, AnthropicErrors.NotFound, $"Not found: {context.Request.Method} {context.Request.Path}"),
            StatusCodes.Status405MethodNotAllowed => AnthropicErrorEnvelope.Result(context, status, AnthropicErrors.InvalidRequest, $"{context.Request.Method} is not allowed on {context.Request.Path}."),
            < 500 => AnthropicErrorEnvelope.Result(context, status, AnthropicErrors.InvalidRequest, "The request was refused."),
            _ => AnthropicErrorEnvelope.Result(context, status, AnthropicErrors.Api, "Internal error."),
        };
    }
}
