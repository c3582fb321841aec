using System.Net;
using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// Sends a buffered request body. Can be sent again (retries build a new message around a new content), and holds
/// a reference on the pooled body while a send is in progress.
/// </summary>
internal sealed class PooledBodyContent(PooledBody body) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!body.TryAddReference())
        {
            throw new ObjectDisposedException(nameof(PooledBody));
        }

        try
        {
            await stream.WriteAsync(body.Memory, cancellationToken);
        }
        finally
        {
            body.Dispose();
        }
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!body.TryAddReference())
        {
            throw new ObjectDisposedException(nameof(PooledBody));
        }

        try
        {
            stream.Write(body.Span);
        }
        finally
        {
            body.Dispose();
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = body.Length;
        return true;
    }
}
