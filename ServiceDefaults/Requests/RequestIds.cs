using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmGateway.ServiceDefaults.Requests;

/// <summary>
/// One request id per request, end to end: <c>req_</c> + 22 base62 characters (~128 bits), kept in
/// <see cref="HttpContext.TraceIdentifier"/>, sent back in the <c>request-id</c> header (Anthropic's name) and in
/// every error body, and passed on in <c>request-id</c> when one service calls another, so the id a caller quotes is
/// the one in every service's logs. A caller's own <c>x-request-id</c> is never adopted (the Gateway's id is the
/// idempotency key of the usage event) but is logged beside ours as <c>ClientRequestId</c>.
/// </summary>
public static class RequestIds
{
    /// <summary>Response header, and the header one service passes its id on in.</summary>
    public const string Header = "request-id";

    /// <summary>A caller's own correlation id, logged next to ours.</summary>
    public const string ClientHeader = "x-request-id";

    public const int Length = 4 + 22;
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Create()
    {
        // Uniqueness, not secrecy, is needed: Random.Shared is thread-safe and cheap.
        var high = (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.Next() << 63);
        var low = (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.Next() << 63);
        return string.Create(Length, (high, low), static (span, state) =>
        {
            "req_".AsSpan().CopyTo(span);
            Encode(state.high, span.Slice(4, 11));
            Encode(state.low, span.Slice(15, 11));
        });
    }

    /// <summary>Whether <paramref name="value"/> has the shape <see cref="Create"/> makes.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> value) =>
        value.Length == Length && value.StartsWith("req_") && !value[4..].ContainsAnyExcept(Alphabet);

    /// <summary>The request's id (set by <see cref="UseRequestIds"/>).</summary>
    public static string Of(HttpContext context) => context.TraceIdentifier;

    /// <summary>
    /// Gives every request its id before anything else runs. <paramref name="trustIncoming"/>: adopt a well-formed
    /// <c>request-id</c> from the caller (services behind the Gateway, which sends its own); the Gateway passes false.
    /// </summary>
    public static WebApplication UseRequestIds(this WebApplication app, bool trustIncoming)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("LlmGateway.Requests");
        app.Use((context, next) =>
        {
            var incoming = trustIncoming ? context.Request.Headers[Header].ToString() : "";
            var id = IsWellFormed(incoming) ? incoming : Create();
            context.TraceIdentifier = id;
            context.Response.Headers[Header] = id;

            var client = context.Request.Headers[ClientHeader].ToString();
            if (client.Length == 0 || !logger.IsEnabled(LogLevel.Critical))
            {
                return next(context);
            }

            return WithClientIdAsync(context, next, logger, Sanitize(client));
        });
        return app;
    }

    private static async Task WithClientIdAsync(HttpContext context, RequestDelegate next, ILogger logger, string client)
    {
        using (logger.BeginScope(new KeyValuePair<string, object>[] { new("ClientRequestId", client) }))
        {
            await next(context);
        }
    }

    // Logged, so kept short and printable: a header cannot inject lines or megabytes into the logs.
    private static string Sanitize(string value)
    {
        var clipped = value.Length > 128 ? value[..128] : value;
        return clipped.AsSpan().ContainsAnyExceptInRange('\u0020', '\u007e')
            ? string.Create(clipped.Length, clipped, static (span, text) =>
            {
                for (var i = 0; i < span.Length; i++)
                {
                    span[i] = text[i] is >= '\u0020' and <= '\u007e' ? text[i] : '?';
                }
            })
            : clipped;
    }

    private static void Encode(ulong value, Span<char> destination)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = Alphabet[(int)(value % 62)];
            value /= 62;
        }
    }
}
