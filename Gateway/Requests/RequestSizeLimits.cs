using LlmGateway.ServiceDefaults.Requests;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LlmGateway.Gateway.Requests;

/// <summary>
/// The URL and header limits, answered by the gateway in Anthropic's error shape. Kestrel's own limits sit well above
/// these (it answers 414/431 with an empty body, before any middleware runs), so a request over them reaches this
/// check and gets a message instead; only a request over Kestrel's backstop still gets Kestrel's bare status.
/// </summary>
internal static class RequestSizeLimits
{
    // Below the Kestrel defaults of the services the gateway forwards to (8 KB request line, 32 KB of headers), so
    // that a forwarded request is never refused there with a bare status.
    public const int MaxTargetLength = 8000;
    public const int MaxHeadersBytes = 28 * 1024;
    public const int MaxHeaderCount = 100;

    /// <summary>Kestrel's backstops: four times ours.</summary>
    public static void ConfigureKestrel(KestrelServerLimits limits)
    {
        limits.MaxRequestLineSize = Math.Max(limits.MaxRequestLineSize, 4 * MaxTargetLength);
        limits.MaxRequestHeadersTotalSize = Math.Max(limits.MaxRequestHeadersTotalSize, 4 * MaxHeadersBytes);
        limits.MaxRequestHeaderCount = Math.Max(limits.MaxRequestHeaderCount, 4 * MaxHeaderCount);
    }

    public static Task CheckAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (request.Path.Value!.Length + request.QueryString.Value?.Length > MaxTargetLength)
        {
            return AnthropicErrors.WriteAsync(context, StatusCodes.Status414RequestUriTooLong, AnthropicErrors.InvalidRequest,
                $"The request URL is longer than the {MaxTargetLength} characters this gateway accepts.", RequestIds.Of(context));
        }

        var headers = request.Headers;
        if (headers.Count > MaxHeaderCount)
        {
            return TooManyHeaders(context, $"The request has more than the {MaxHeaderCount} headers this gateway accepts.");
        }

        var bytes = 0;
        foreach (var (name, values) in headers)
        {
            bytes += name.Length + 4;
            foreach (var value in values)
            {
                bytes += value?.Length ?? 0;
            }
        }

        return bytes > MaxHeadersBytes
            ? TooManyHeaders(context, $"The request headers are larger than the {MaxHeadersBytes} bytes this gateway accepts.")
            : next(context);
    }

    private static Task TooManyHeaders(HttpContext context, string message) =>
        AnthropicErrors.WriteAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge, AnthropicErrors.InvalidRequest, message, RequestIds.Of(context));
}
