using System.Text.Json;

namespace LlmGateway.Gateway.Requests;

/// <summary>The few fields of a model request body the gateway acts on; the body itself is forwarded unchanged.</summary>
internal readonly record struct ModelRequest(string Model, bool Stream, int? MaxTokens);

internal enum ModelRequestError
{
    None,
    Empty,
    MalformedJson,
    InvalidText,
    NotAnObject,
    MissingModel,
    InvalidModel,
    DuplicateModel,
    DuplicateField,
}

/// <summary>
/// Picks <c>model</c>, <c>stream</c> and the route's output-token field (<c>max_tokens</c> for the Messages API,
/// <c>max_tokens_to_sample</c> for legacy completions: exactly the field the upstream honours on that route) from the
/// top level of a JSON body with a <see cref="Utf8JsonReader"/>, validating the whole document on the way (no DOM):
/// well-formed JSON, valid UTF-8 and no unpaired surrogate escape, so the upstream never gets text it cannot read.
/// A body that names one of those fields twice is refused: the gateway and the upstream could read different values
/// (one to check and reserve, the other to act on).
/// </summary>
internal static class ModelRequestParser
{
    private static readonly JsonReaderOptions Options = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 256 };

    /// <param name="json">The body.</param>
    /// <param name="maxTokensField">The route's output-token field (UTF-8), or empty when the route has none.</param>
    /// <param name="names">Interned model names.</param>
    /// <param name="request">The fields, when the body is valid.</param>
    public static ModelRequestError TryParse(ReadOnlySpan<byte> json, ReadOnlySpan<byte> maxTokensField, ModelNameTable names, out ModelRequest request)
    {
        request = default;
        if (json.IsEmpty)
        {
            return ModelRequestError.Empty;
        }

        if (!System.Text.Unicode.Utf8.IsValid(json) || JsonText.HasUnpairedSurrogateEscape(json))
        {
            return ModelRequestError.InvalidText;
        }

        string? model = null;
        var modelError = ModelRequestError.None;
        var stream = false;
        var streamSeen = false;
        int? maxTokens = null;
        var maxTokensSeen = false;
        var duplicate = false;
        try
        {
            var reader = new Utf8JsonReader(json, Options);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                // Still validate, so that "[1," is reported as malformed rather than as "not an object".
                reader.Skip();
                while (reader.Read())
                {
                }

                return ModelRequestError.NotAnObject;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    if (model is not null || modelError != ModelRequestError.None)
                    {
                        // The allowlist is checked on one value; an upstream reading another would bypass it.
                        modelError = ModelRequestError.DuplicateModel;
                        reader.Skip();
                    }
                    else if (reader.TokenType == JsonTokenType.String)
                    {
                        model = names.Get(ref reader);
                        if (model.Length == 0)
                        {
                            modelError = ModelRequestError.InvalidModel;
                        }
                    }
                    else
                    {
                        modelError = ModelRequestError.InvalidModel;
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("stream"u8))
                {
                    reader.Read();
                    duplicate |= streamSeen;
                    streamSeen = true;
                    stream = reader.TokenType == JsonTokenType.True;
                    reader.Skip();
                }
                else if (!maxTokensField.IsEmpty && reader.ValueTextEquals(maxTokensField))
                {
                    reader.Read();
                    duplicate |= maxTokensSeen;
                    maxTokensSeen = true;
                    maxTokens = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : null;
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // Anything after the root object (other than whitespace) makes Read throw.
            while (reader.Read())
            {
            }
        }
        catch (JsonException)
        {
            return ModelRequestError.MalformedJson;
        }
        catch (InvalidOperationException)
        {
            // Invalid UTF-8 inside a string surfaces when the string is transcoded.
            return ModelRequestError.MalformedJson;
        }

        if (modelError != ModelRequestError.None)
        {
            return modelError;
        }

        if (duplicate)
        {
            return ModelRequestError.DuplicateField;
        }

        if (model is null)
        {
            return ModelRequestError.MissingModel;
        }

        request = new ModelRequest(model, stream, maxTokens);
        return ModelRequestError.None;
    }

    public static string Describe(ModelRequestError error) => error switch
    {
        ModelRequestError.Empty => "The request body is empty; a JSON object is required.",
        ModelRequestError.MalformedJson => "The request body is not valid JSON.",
        ModelRequestError.InvalidText => "The request body is not valid UTF-8 text (or holds an unpaired surrogate escape such as \\ud800).",
        ModelRequestError.NotAnObject => "The request body must be a JSON object.",
        ModelRequestError.MissingModel => "model: Field required",
        ModelRequestError.InvalidModel => "model: Input should be a non-empty string",
        ModelRequestError.DuplicateModel => "model: the field appears more than once",
        ModelRequestError.DuplicateField => "The request body names 'stream' or its max-tokens field more than once.",
        _ => "The request is invalid.",
    };
}
