using System.Text.Json;
using LlmGateway.Contracts.Credentials;

namespace LlmGateway.Gateway.Requests;

/// <summary>
/// A message batch (<c>POST /v1/messages/batches</c>) names a model in each of its requests
/// (<c>requests[].params.model</c>); every one must be on the caller's allowlist, or the batch would be a way
/// around it.
/// </summary>
internal static class BatchRequestModels
{
    public enum Verdict
    {
        Allowed,
        Denied,
        Malformed,
    }

    public static Verdict Check(ReadOnlySpan<byte> json, IReadOnlyList<string> allowlist, ModelNameTable names, out string? deniedModel)
    {
        deniedModel = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Verdict.Malformed;
            }

            var verdict = Verdict.Allowed;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isRequests = reader.ValueTextEquals("requests"u8);
                reader.Read();
                if (!isRequests || reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isParams = reader.ValueTextEquals("params"u8);
                        reader.Read();
                        if (!isParams || reader.TokenType != JsonTokenType.StartObject)
                        {
                            reader.Skip();
                            continue;
                        }

                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var isModel = reader.ValueTextEquals("model"u8);
                            reader.Read();
                            if (isModel && verdict == Verdict.Allowed)
                            {
                                var model = reader.TokenType == JsonTokenType.String ? names.Get(ref reader) : null;
                                if (model is null || !ModelPatterns.IsAllowed(allowlist, model))
                                {
                                    verdict = Verdict.Denied;
                                    deniedModel = model ?? "(not a string)";
                                }
                            }

                            reader.Skip();
                        }
                    }
                }
            }

            while (reader.Read())
            {
            }

            return verdict;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return Verdict.Malformed;
        }
    }
}
