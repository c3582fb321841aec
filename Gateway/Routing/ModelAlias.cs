using System.Buffers;
using System.Text.Json;
using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Routing;

/// <summary>Rewrites the top-level <c>"model"</c> of a request body to the id an alias stands for.</summary>
internal static class ModelAlias
{
    /// <summary>
    /// A new body whose top-level <c>model</c> string is <paramref name="model"/>, every other byte unchanged; null
    /// when the body has no top-level string <c>model</c> (the parser has already refused such bodies).
    /// </summary>
    public static PooledBody? Rewrite(ReadOnlySpan<byte> json, string model)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isModel = reader.ValueTextEquals("model"u8);
            reader.Read();
            if (!isModel || reader.TokenType != JsonTokenType.String)
            {
                reader.Skip();
                continue;
            }

            var start = (int)reader.TokenStartIndex;
            var end = start + reader.ValueSpan.Length + 2; // the quotes around the raw (escaped) value
            var encoded = JsonEncodedText.Encode(model).EncodedUtf8Bytes;
            var length = json.Length - (end - start) + encoded.Length + 2;
            var array = ArrayPool<byte>.Shared.Rent(length);
            json[..start].CopyTo(array);
            var at = start;
            array[at++] = (byte)'"';
            encoded.CopyTo(array.AsSpan(at));
            at += encoded.Length;
            array[at++] = (byte)'"';
            json[end..].CopyTo(array.AsSpan(at));
            return new PooledBody(array, length);
        }

        return null;
    }
}
