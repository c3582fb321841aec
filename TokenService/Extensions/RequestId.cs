using System.Security.Cryptography;

namespace LlmGateway.TokenService.Extensions;

/// <summary>
/// The request id of every response (<c>request-id</c> header, and <c>request_id</c> in errors): the Gateway's
/// <c>x-request-id</c> when it sent a sane one, so one id follows a request across services; otherwise a new one.
/// </summary>
public static class RequestId
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static Task AssignAsync(HttpContext context, Func<Task> next)
    {
        var incoming = context.Request.Headers["x-request-id"].LastOrDefault();
        context.TraceIdentifier = IsSane(incoming) ? incoming! : "req_" + RandomNumberGenerator.GetString(Alphabet, 24);
        context.Response.Headers["request-id"] = context.TraceIdentifier;
        return next();
    }

    private static bool IsSane(string? value) =>
        value is { Length: > 0 and <= 128 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}
