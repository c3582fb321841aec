namespace LlmGateway.Gateway.Requests;

/// <summary>Checks on the text inside JSON strings that a JSON reader does not make.</summary>
internal static class JsonText
{
    /// <summary>
    /// Whether a string of the (well-formed) document escapes half of a surrogate pair alone (<c>"\ud800"</c>): valid
    /// JSON, but not text; providers answer it with a 500. A high surrogate must be followed at once by a low one.
    /// </summary>
    public static bool HasUnpairedSurrogateEscape(ReadOnlySpan<byte> json)
    {
        // Only documents that escape a surrogate at all need the full walk.
        if (json.IndexOf("\\u"u8) < 0 && json.IndexOf("\\U"u8) < 0)
        {
            return false;
        }

        var inString = false;
        var pendingHigh = false;
        for (var i = 0; i < json.Length; i++)
        {
            var b = json[i];
            if (!inString)
            {
                inString = b == (byte)'"';
                continue;
            }

            if (b == (byte)'"')
            {
                if (pendingHigh)
                {
                    return true;
                }

                inString = false;
                continue;
            }

            if (b != (byte)'\\' || i + 1 >= json.Length)
            {
                if (pendingHigh)
                {
                    return true;
                }

                continue;
            }

            var escaped = json[++i];
            if (escaped != (byte)'u' || i + 4 >= json.Length || !TryHex(json.Slice(i + 1, 4), out var unit))
            {
                if (pendingHigh)
                {
                    return true;
                }

                continue;
            }

            i += 4;
            var high = unit is >= 0xD800 and <= 0xDBFF;
            var low = unit is >= 0xDC00 and <= 0xDFFF;
            if (pendingHigh != low)
            {
                return true; // a high not followed by a low, or a low without a high before it
            }

            pendingHigh = high;
        }

        return pendingHigh;
    }

    private static bool TryHex(ReadOnlySpan<byte> digits, out int value)
    {
        value = 0;
        foreach (var d in digits)
        {
            var v = d switch
            {
                >= (byte)'0' and <= (byte)'9' => d - '0',
                >= (byte)'a' and <= (byte)'f' => d - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => d - 'A' + 10,
                _ => -1,
            };
            if (v < 0)
            {
                return false;
            }

            value = (value << 4) | v;
        }

        return true;
    }
}
