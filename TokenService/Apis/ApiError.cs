using System.Text.Json;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Errors;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// Every error TokenService returns, in Anthropic's shape (the envelope and types of Contracts' <see cref="AnthropicErrors"/>) (clients reach these routes through an Anthropic-compatible
/// endpoint): <c>{"type":"error","error":{"type":"…","message":"…"},"request_id":"…"}</c> with the matching status.
/// </summary>
public sealed class ApiError : IResult, IStatusCodeHttpResult
{
    private ApiError(int statusCode, string type, string message, TimeSpan? retryAfter = null)
    {
        StatusCode = statusCode;
        Type = type;
        Message = message;
        RetryAfter = retryAfter;
    }

    public int StatusCode { get; }
    public string Type { get; }
    public string Message { get; }
    public TimeSpan? RetryAfter { get; }

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    /// <summary>The same refusal for the caller scheme, which writes it back through <see cref="Authentication.ApiErrorWriter"/>.</summary>
    public Identity.Authentication.CallerRefusal ToRefusal() => new(StatusCode, Type, Message, RetryAfter);

    public static ApiError InvalidRequest(string message) => new(StatusCodes.Status400BadRequest, AnthropicErrors.InvalidRequest, message);
    public static ApiError Authentication(string message) => new(StatusCodes.Status401Unauthorized, AnthropicErrors.Authentication, message);
    public static ApiError Permission(string message) => new(StatusCodes.Status403Forbidden, AnthropicErrors.Permission, message);
    public static ApiError NotFound(string message) => new(StatusCodes.Status404NotFound, AnthropicErrors.NotFound, message);

    /// <summary>The introspection contract's 404 (<c>error.type</c> <c>not_found</c>), which the Gateway's fallback path reads.</summary>
    public static ApiError IntrospectionNotFound(string message, string type = Contracts.IntrospectionRefusals.Unknown) =>
        new(StatusCodes.Status404NotFound, type, message);

    public static ApiError Conflict(string message) => new(StatusCodes.Status409Conflict, AnthropicErrors.InvalidRequest, message);
    /// <summary>423: the account is locked after repeated failed sign-ins; <c>Retry-After</c> says for how long.</summary>
    public static ApiError Locked(string message, TimeSpan retryAfter) => new(StatusCodes.Status423Locked, AnthropicErrors.Permission, message, retryAfter);

    public static ApiError TooLarge(string message) => new(StatusCodes.Status413PayloadTooLarge, AnthropicErrors.RequestTooLarge, message);
    public static ApiError RateLimited(string message, TimeSpan? retryAfter) => new(StatusCodes.Status429TooManyRequests, AnthropicErrors.RateLimit, message, retryAfter);
    /// <summary>An upstream OAuth account cannot serve (409 when it needs reconnecting, 503 when the provider is unreachable).</summary>
    public static ApiError UpstreamAccount(string message, bool needsReconnect) =>
        new(needsReconnect ? StatusCodes.Status409Conflict : StatusCodes.Status503ServiceUnavailable, AnthropicErrors.UpstreamAccount, message);

    public static ApiError Internal(string message) => new(StatusCodes.Status500InternalServerError, AnthropicErrors.Api, message);
    public static ApiError Unavailable(string message, TimeSpan retryAfter) => new(StatusCodes.Status503ServiceUnavailable, AnthropicErrors.Api, message, retryAfter);

    /// <summary>The error for a bare status code (routing's 404/405, Kestrel's 413, …) so no response is ever an empty error.</summary>
    public static ApiError ForStatus(int statusCode, HttpRequest request) => statusCode switch
    {
        StatusCodes.Status404NotFound => NotFound($"No route {request.Method} {request.Path}."),
        StatusCodes.Status405MethodNotAllowed => new(statusCode, AnthropicErrors.InvalidRequest, $"Method {request.Method} is not allowed on {request.Path}."),
        StatusCodes.Status413PayloadTooLarge => TooLarge("Request body is too large."),
        StatusCodes.Status401Unauthorized => Authentication("Authentication required."),
        StatusCodes.Status403Forbidden => Permission("Not allowed."),
        StatusCodes.Status429TooManyRequests => RateLimited("Too many requests.", null),
        StatusCodes.Status503ServiceUnavailable => Unavailable("Service unavailable; try again shortly.", TimeSpan.FromSeconds(5)),
        >= 500 => new(statusCode, AnthropicErrors.Api, "Internal error."),
        _ => new(statusCode, AnthropicErrors.InvalidRequest, "Invalid request."),
    };

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCode;
        if (RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = Contracts.Errors.RetryAfter.HeaderValue(retryAfter);
        }

        var body = AnthropicErrorEnvelope.Of(Type, Message, httpContext.TraceIdentifier);
        return response.WriteAsJsonAsync(body, ApiJson.Options, "application/json", httpContext.RequestAborted);
    }

    public override string ToString() => $"{StatusCode} {Type}: {Message}";
}

/// <summary>The JSON settings of every request and response body (and of the projection TokenService writes to Redis).</summary>
public static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    public static void Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        // Messages quote field names and values; "\u0022" would make them unreadable. These bodies are never HTML.
        options.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        options.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
        options.Converters.Add(new UtcTimestampConverter());
    }

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Configure(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
