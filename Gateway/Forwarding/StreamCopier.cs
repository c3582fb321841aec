using System.Buffers;
using System.IO.Pipelines;
using LlmGateway.Gateway.Streaming;

namespace LlmGateway.Gateway.Forwarding;

internal enum CopyOutcome
{
    Completed,

    /// <summary>Reading the source failed (for a response: the upstream cut the body).</summary>
    SourceFailed,

    /// <summary>Writing the destination failed (for a response: the client went away).</summary>
    DestinationFailed,

    /// <summary>The token was cancelled; the caller knows which side cancelled it.</summary>
    Canceled,

    /// <summary>An SSE event exceeded the largest event the copier frames.</summary>
    EventTooLarge,
}

internal readonly record struct CopyResult(CopyOutcome Outcome, long FirstByteTimestamp, Exception? Error);

/// <summary>
/// The cancellation of one upstream exchange once its response has started: it fires when the upstream has sent
/// nothing for <c>timeout</c>; every read that returns data re-arms it (one timer, reset in place).
/// </summary>
internal readonly struct ActivityTimer(CancellationTokenSource source, TimeSpan timeout)
{
    public CancellationToken Token => source.Token;

    public void Touch() => source.CancelAfter(timeout);
}

/// <summary>
/// Copies a response body to the client as it arrives: every chunk is written (and flushed) as soon as it is read,
/// and nothing waits for the whole body. The SSE variant releases whole events only, so that if the upstream cuts
/// the stream the client holds complete events and an <c>event: error</c> frame can follow cleanly.
/// </summary>
internal static class StreamCopier
{
    private const int BufferSize = 16 * 1024;
    private const int SseInitialBuffer = 4 * 1024;
    private const int MaxSseEventBytes = 16 * 1024 * 1024;

    public static async ValueTask<CopyResult> CopyAsync(
        Stream source, Stream destination, JsonUsageReader? capture, bool flushEachChunk, TimeProvider time, ActivityTimer activity)
    {
        var cancellationToken = activity.Token;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        long firstByte = 0;
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await source.ReadAsync(buffer, cancellationToken);
                }
                catch (OperationCanceledException ex)
                {
                    return new CopyResult(CopyOutcome.Canceled, firstByte, ex);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
                {
                    return new CopyResult(cancellationToken.IsCancellationRequested ? CopyOutcome.Canceled : CopyOutcome.SourceFailed, firstByte, ex);
                }

                if (read == 0)
                {
                    return new CopyResult(CopyOutcome.Completed, firstByte, null);
                }

                activity.Touch();
                capture?.Append(buffer.AsSpan(0, read));
                try
                {
                    await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    if (flushEachChunk)
                    {
                        await destination.FlushAsync(cancellationToken);
                    }
                }
                catch (OperationCanceledException ex)
                {
                    return new CopyResult(CopyOutcome.Canceled, firstByte, ex);
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    return new CopyResult(CopyOutcome.DestinationFailed, firstByte, ex);
                }

                if (total == 0)
                {
                    firstByte = time.GetTimestamp();
                }

                total += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Copies an SSE body event by event while <paramref name="reader"/> reads usage on the side. Bytes pass unchanged;
    /// only the trailing part of an event still in flight is held back until its blank line arrives.
    /// </summary>
    public static async ValueTask<CopyResult> CopyEventsAsync(
        Stream source, PipeWriter destination, SseUsageReader reader, TimeProvider time, ActivityTimer activity)
    {
        var cancellationToken = activity.Token;
        byte[]? buffer = null;
        var filled = 0;
        long total = 0;
        long firstByte = 0;
        try
        {
            while (true)
            {
                if (filled == 0)
                {
                    // Between events nothing is pending: a zero-byte read waits for the next one, and only if it
                    // really has to wait is the buffer given back meanwhile (a thousand idle streams hold none).
                    try
                    {
                        var waiting = source.ReadAsync(Memory<byte>.Empty, cancellationToken);
                        if (!waiting.IsCompletedSuccessfully)
                        {
                            if (buffer is not null)
                            {
                                ArrayPool<byte>.Shared.Return(buffer);
                                buffer = null;
                            }

                            await waiting;
                        }
                    }
                    catch (OperationCanceledException ex)
                    {
                        return new CopyResult(CopyOutcome.Canceled, firstByte, ex);
                    }
                    catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
                    {
                        return new CopyResult(cancellationToken.IsCancellationRequested ? CopyOutcome.Canceled : CopyOutcome.SourceFailed, firstByte, ex);
                    }

                    buffer ??= ArrayPool<byte>.Shared.Rent(SseInitialBuffer);
                }
                else if (filled == buffer!.Length)
                {
                    if (buffer.Length >= MaxSseEventBytes)
                    {
                        return new CopyResult(CopyOutcome.EventTooLarge, firstByte, null);
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read;
                try
                {
                    read = await source.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                }
                catch (OperationCanceledException ex)
                {
                    return new CopyResult(CopyOutcome.Canceled, firstByte, ex);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
                {
                    return new CopyResult(cancellationToken.IsCancellationRequested ? CopyOutcome.Canceled : CopyOutcome.SourceFailed, firstByte, ex);
                }

                if (read > 0)
                {
                    activity.Touch();
                }

                filled += read;
                var complete = read == 0 ? reader.ScanToEnd(buffer.AsSpan(0, filled)) : reader.Scan(buffer.AsSpan(0, filled));
                if (read == 0 && complete == 0)
                {
                    // Bytes left over belong to an event that never ended: they are not released.
                    return new CopyResult(CopyOutcome.Completed, firstByte, null);
                }

                if (complete == 0)
                {
                    continue;
                }

                try
                {
                    // One call writes and flushes: the events leave now.
                    var flushed = await destination.WriteAsync(buffer.AsMemory(0, complete), cancellationToken);
                    if (flushed.IsCanceled || flushed.IsCompleted)
                    {
                        return new CopyResult(CopyOutcome.DestinationFailed, firstByte, null);
                    }
                }
                catch (OperationCanceledException ex)
                {
                    return new CopyResult(CopyOutcome.Canceled, firstByte, ex);
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    return new CopyResult(CopyOutcome.DestinationFailed, firstByte, ex);
                }

                if (total == 0)
                {
                    firstByte = time.GetTimestamp();
                }

                total += complete;
                filled -= complete;
                if (read == 0)
                {
                    return new CopyResult(CopyOutcome.Completed, firstByte, null);
                }

                if (filled > 0)
                {
                    buffer.AsSpan(complete, filled).CopyTo(buffer);
                }
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
