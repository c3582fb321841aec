using System.Buffers;

namespace LlmGateway.Gateway.Requests;

internal enum BodyReadStatus
{
    Ok,
    TooLarge,

    /// <summary>The framing was broken (bad chunk, body shorter than its Content-Length): a 400, not a silent end.</summary>
    Malformed,
}

/// <summary>
/// Reads a request body once, into a pooled buffer, refusing more than the configured maximum: a declared
/// <c>Content-Length</c> over the limit is refused before reading, a chunked body as soon as it passes the limit.
/// Broken framing (Kestrel's <see cref="BadHttpRequestException"/>) is <see cref="BodyReadStatus.Malformed"/>; the
/// client going away still throws.
/// </summary>
internal static class RequestBodyReader
{
    public const string MalformedMessage =
        "The request body is malformed: its chunked framing is broken or it ended before its Content-Length.";

    /// <summary>Whether <paramref name="exception"/> (or what it wraps) is Kestrel refusing the body's framing.</summary>
    public static BadHttpRequestException? FindBadRequest(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException bad)
            {
                return bad;
            }
        }

        return null;
    }

    private const int InitialChunkedBuffer = 16 * 1024;

    public static async ValueTask<(BodyReadStatus Status, PooledBody? Body)> ReadAsync(
        HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > maxBytes)
        {
            return (BodyReadStatus.TooLarge, null);
        }

        if (declared == 0)
        {
            return (BodyReadStatus.Ok, PooledBody.Empty());
        }

        // One spare byte detects a body longer than its declared length without a second read.
        var array = ArrayPool<byte>.Shared.Rent(declared is { } length ? (int)length + 1 : InitialChunkedBuffer);
        var filled = 0;
        try
        {
            var body = request.Body;
            while (true)
            {
                if (filled == array.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(array.Length * 2, maxBytes + 1));
                    array.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(array);
                    array = larger;
                }

                int read;
                try
                {
                    read = await body.ReadAsync(array.AsMemory(filled), cancellationToken);
                }
                catch (BadHttpRequestException bad) when (!cancellationToken.IsCancellationRequested)
                {
                    return (bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? BodyReadStatus.TooLarge : BodyReadStatus.Malformed, null);
                }

                if (read == 0)
                {
                    break;
                }

                filled += read;
                if (filled > maxBytes)
                {
                    return (BodyReadStatus.TooLarge, null);
                }
            }

            var result = new PooledBody(array, filled);
            array = null!;
            return (BodyReadStatus.Ok, result);
        }
        finally
        {
            if (array is not null)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }
}
