namespace LlmGateway.Gateway.Requests;

/// <summary>
/// The gateway's own request id (<c>req_</c> + 22 base62 characters, ~128 bits). It is the correlation id of every
/// log line, the <c>request-id</c> response header, the <c>request_id</c> of error bodies and the idempotency key of
/// the usage event.
/// </summary>
internal static class RequestIds
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    public const int Length = 4 + 22;

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

    private static void Encode(ulong value, Span<char> destination)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = Alphabet[(int)(value % 62)];
            value /= 62;
        }
    }
}
