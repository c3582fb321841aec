using System.Buffers;

namespace LlmGateway.Gateway.Requests;

internal enum BodyReadStatus
{
    Ok,
    TooLarge,
}

/// <summary>
/// Reads a request body once, into a pooled buffer, refusing more than the configured maximum: a declared
/// <c>Content-Length</c> over the limit is refused before reading, a chunked body as soon as it passes the limit.
/// </summary>
internal static class RequestBodyReader
{
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

                var read = await body.ReadAsync(array.AsMemory(filled), cancellationToken);
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
