using System.Buffers.Text;
using System.Text.Json;

namespace LlmGateway.Identity;

/// <summary>
/// Tells a JWT from a gateway credential without any lookup: three base64url segments (the third may be empty, as in
/// an <c>alg: none</c> token, so that one is refused with its reason), the first decoding to a JSON object with an
/// <c>alg</c>. Gateway credentials (<c>lgw_…</c>) contain no dot, so the two can never be confused.
/// </summary>
public static class JwtShape
{
    /// <summary>Longest token considered; far above any real ID or access token.</summary>
    public const int MaxLength = 16 * 1024;

    private const int MaxHeaderChars = 2048;

    public static bool IsJwt(ReadOnlySpan<char> value)
    {
        if (value.Length is < 10 or > MaxLength)
        {
            return false;
        }

        var first = value.IndexOf('.');
        if (first <= 0)
        {
            return false;
        }

        var rest = value[(first + 1)..];
        var second = rest.IndexOf('.');
        if (second <= 0 || rest[(second + 1)..].Contains('.'))
        {
            return false;
        }

        if (!IsBase64Url(value[..first]) || !IsBase64Url(rest[..second]) || !IsBase64Url(rest[(second + 1)..]))
        {
            return false;
        }

        var header = value[..first];
        if (header.Length > MaxHeaderChars)
        {
            return false;
        }

        Span<byte> json = stackalloc byte[Base64Url.GetMaxDecodedLength(header.Length)];
        if (!Base64Url.TryDecodeFromChars(header, json, out var written))
        {
            return false;
        }

        return HasAlg(json[..written]);
    }

    private static bool IsBase64Url(ReadOnlySpan<char> segment)
    {
        foreach (var c in segment)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_')
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasAlg(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isAlg = reader.ValueTextEquals("alg"u8);
                reader.Read();
                if (isAlg)
                {
                    return reader.TokenType == JsonTokenType.String;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }
}
