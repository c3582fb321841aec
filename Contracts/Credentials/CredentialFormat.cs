using System.Security.Cryptography;
using System.Text;

namespace LlmGateway.Contracts.Credentials;

/// <summary>
/// The wire format of every gateway-issued credential:
/// <c>lgw_{kind}_{43 base62 chars of randomness}{6 base62 chars of CRC-32}</c>, 57 characters in all.
/// </summary>
/// <remarks>
/// 43 base62 characters carry 256 bits of randomness. The CRC-32 of the prefix and random part lets the
/// gateway reject a malformed or mistyped credential without any I/O, and lets secret scanners match
/// <c>lgw_(key|agt|dev|adm)_[0-9A-Za-z]{49}</c> with few false positives (the same idea as GitHub's tokens).
/// Only <see cref="Hash"/> of a credential is ever stored; <see cref="Redact"/> is the only form that may be logged.
/// </remarks>
public static class CredentialFormat
{
    public const int RandomLength = 43;
    public const int ChecksumLength = 6;
    public const int PrefixLength = 8;
    public const int Length = PrefixLength + RandomLength + ChecksumLength;

    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string PrefixOf(CredentialKind kind) => kind switch
    {
        CredentialKind.ApiKey => "lgw_key_",
        CredentialKind.AgentToken => "lgw_agt_",
        CredentialKind.DeviceToken => "lgw_dev_",
        CredentialKind.AdminKey => "lgw_adm_",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Creates a new credential of the given kind from a cryptographic random source.</summary>
    public static string Generate(CredentialKind kind)
    {
        Span<char> text = stackalloc char[Length];
        PrefixOf(kind).AsSpan().CopyTo(text);
        Span<char> random = text.Slice(PrefixLength, RandomLength);
        for (var i = 0; i < random.Length; i++)
        {
            random[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        WriteChecksum(text[..(PrefixLength + RandomLength)], text[(PrefixLength + RandomLength)..]);
        return new string(text);
    }

    /// <summary>
    /// Checks prefix, length, alphabet and checksum. No I/O: a false answer means the value can never be valid.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> credential, out CredentialKind kind)
    {
        kind = default;
        if (credential.Length != Length || !credential.StartsWith("lgw_", StringComparison.Ordinal) || credential[7] != '_')
        {
            return false;
        }

        switch (credential.Slice(4, 3))
        {
            case "key": kind = CredentialKind.ApiKey; break;
            case "agt": kind = CredentialKind.AgentToken; break;
            case "dev": kind = CredentialKind.DeviceToken; break;
            case "adm": kind = CredentialKind.AdminKey; break;
            default: return false;
        }

        foreach (var c in credential[PrefixLength..])
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        Span<char> expected = stackalloc char[ChecksumLength];
        WriteChecksum(credential[..(PrefixLength + RandomLength)], expected);
        return credential[(PrefixLength + RandomLength)..].SequenceEqual(expected);
    }

    /// <summary>
    /// The lookup key of a credential: lower-case hex SHA-256 of its UTF-8 text. Credentials carry 256 bits of
    /// randomness, so a fast hash is as strong as a slow one here and keeps resolution cheap.
    /// </summary>
    public static string Hash(ReadOnlySpan<char> credential)
    {
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(credential.Length)];
        var written = Encoding.UTF8.GetBytes(credential, utf8);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..written], digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>The only printable form of a secret: <c>prefix…last4</c> (e.g. <c>lgw_key_…X6Yb</c>).</summary>
    public static string Redact(ReadOnlySpan<char> secret)
    {
        if (secret.IsEmpty)
        {
            return "(none)";
        }

        var underscore = secret.LastIndexOf('_');
        var prefix = underscore is > 0 and < 12 ? secret[..(underscore + 1)] : secret[..Math.Min(3, secret.Length / 4)];
        var last4 = secret.Length >= 12 ? secret[^4..] : ReadOnlySpan<char>.Empty;
        return string.Concat(prefix, "…", last4);
    }

    private static void WriteChecksum(ReadOnlySpan<char> body, Span<char> destination)
    {
        var crc = Crc32(body);
        for (var i = ChecksumLength - 1; i >= 0; i--)
        {
            destination[i] = Alphabet[(int)(crc % 62)];
            crc /= 62;
        }
    }

    // CRC-32 (IEEE 802.3, as zlib's crc32) of the ASCII body.
    private static uint Crc32(ReadOnlySpan<char> ascii)
    {
        Span<byte> bytes = stackalloc byte[ascii.Length];
        for (var i = 0; i < ascii.Length; i++)
        {
            bytes[i] = (byte)ascii[i];
        }

        return System.IO.Hashing.Crc32.HashToUInt32(bytes);
    }
}
