using System.Buffers;

namespace LlmGateway.Gateway.Requests;

/// <summary>
/// A request body read once into a pooled array, replayed for retries. Reference-counted: the exchange holds one
/// reference and every upstream send in progress holds another, so the array goes back to the pool only when no
/// send can still be reading it (an HTTP/2 send may outlive the response headers).
/// </summary>
internal sealed class PooledBody : IDisposable
{
    private readonly byte[] _array;
    private int _references = 1;

    public PooledBody(byte[] array, int length)
    {
        _array = array;
        Length = length;
    }

    public static PooledBody Empty() => new([], 0);

    /// <summary>A pooled copy of <paramref name="bytes"/> (a rewritten or translated body).</summary>
    public static PooledBody CopyOf(ReadOnlySpan<byte> bytes)
    {
        var array = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, bytes.Length));
        bytes.CopyTo(array);
        return new PooledBody(array, bytes.Length);
    }

    public int Length { get; }

    /// <summary>The bytes; valid while the caller holds a reference.</summary>
    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

    /// <summary>Takes another reference, unless the body was already released.</summary>
    public bool TryAddReference()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    public void Dispose()
    {
        if (Interlocked.Decrement(ref _references) == 0 && _array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
        }
    }
}
