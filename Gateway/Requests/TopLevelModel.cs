using System.Text.Json;

namespace LlmGateway.Gateway.Requests;

/// <summary>
/// The top-level <c>"model"</c> of a JSON body sent to a pass-through route (OpenAI-style chat completions,
/// embeddings, future endpoints). Such a route must honour the caller's model allowlist like the Messages API does,
/// or it would be a way around it.
/// </summary>
internal static class TopLevelModel
{
    public enum Verdict
    {
        /// <summary>The body is a JSON object without a string <c>model</c>.</summary>
        None,

        /// <summary>A model is named once.</summary>
        Found,

        /// <summary>
        /// Not a JSON object of valid UTF-8, or <c>model</c> repeated (a parser elsewhere might take the other one).
        /// </summary>
        Malformed,
    }

    public static Verdict Find(ReadOnlySpan<byte> json, out string? model)
    {
        model = null;
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            // Never forwarded: the upstream would answer it with a 500, or read it differently from us.
            return Verdict.Malformed;
        }

        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Verdict.Malformed;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isModel = reader.ValueTextEquals("model"u8);
                reader.Read();
                if (!isModel)
                {
                    reader.Skip();
                    continue;
                }

                if (model is not null)
                {
                    return Verdict.Malformed;
                }

                model = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                if (model is null)
                {
                    reader.Skip();
                }
            }

            return model is null ? Verdict.None : Verdict.Found;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return Verdict.Malformed;
        }
    }
}
