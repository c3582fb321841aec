using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Gateway.Credentials;

/// <summary>
/// SHA-256 of a credential as a value type: the key of the in-process cache (no string per request). Its hex form is
/// <see cref="CredentialFormat.Hash"/>, the key of the Redis projection and of revocation messages.
/// </summary>
internal readonly struct CredentialHash : IEquatable<CredentialHash>
{
    private readonly ulong _a, _b, _c, _d;

    private CredentialHash(ReadOnlySpan<byte> digest)
    {
        _a = BinaryPrimitives.ReadUInt64BigEndian(digest);
        _b = BinaryPrimitives.ReadUInt64BigEndian(digest[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(digest[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(digest[24..]);
    }

    public static CredentialHash Compute(ReadOnlySpan<char> credential)
    {
        // Gateway credentials are 57 ASCII characters; external keys at most 1024 (validated configuration).
        Span<byte> utf8 = stackalloc byte[1024];
        if (Encoding.UTF8.GetMaxByteCount(credential.Length) > utf8.Length)
        {
            utf8 = new byte[Encoding.UTF8.GetMaxByteCount(credential.Length)];
        }

        var written = Encoding.UTF8.GetBytes(credential, utf8);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..written], digest);
        return new CredentialHash(digest);
    }

    public static bool TryParseHex(ReadOnlySpan<char> hex, out CredentialHash hash)
    {
        hash = default;
        if (hex.Length != SHA256.HashSizeInBytes * 2)
        {
            return false;
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        if (Convert.FromHexString(hex, digest, out _, out var written) != System.Buffers.OperationStatus.Done
            || written != digest.Length)
        {
            return false;
        }

        hash = new CredentialHash(digest);
        return true;
    }

    /// <summary>Lower-case hex, equal to <see cref="CredentialFormat.Hash"/> of the same credential.</summary>
    public string ToHex()
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        BinaryPrimitives.WriteUInt64BigEndian(digest, _a);
        BinaryPrimitives.WriteUInt64BigEndian(digest[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(digest[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(digest[24..], _d);
        return Convert.ToHexStringLower(digest);
    }

    public bool Equals(CredentialHash other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is CredentialHash other && Equals(other);

    // The digest is uniformly random already.
    public override int GetHashCode() => (int)_a;

    public override string ToString() => ToHex();

    public static bool operator ==(CredentialHash left, CredentialHash right) => left.Equals(right);

    public static bool operator !=(CredentialHash left, CredentialHash right) => !left.Equals(right);
}
