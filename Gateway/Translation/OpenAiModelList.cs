using System.Globalization;
using System.Text.Json;
using LlmGateway.Gateway.Pipeline;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// <c>GET /v1/models</c> for OpenAI clients (a request without <c>anthropic-version</c>): OpenAI's list shape
/// <c>{"object":"list","data":[{"id","object":"model","created","owned_by"}]}</c>, every allowed model in one page
/// (OpenAI's list has no cursors). <c>created</c> is the Unix time of the model's <c>created_at</c>.
/// </summary>
internal static class OpenAiModelList
{
    /// <summary>An Anthropic client always sends the version header; OpenAI clients never do.</summary>
    public static bool Wanted(HttpRequest request) => !request.Headers.ContainsKey("anthropic-version");

    public static void Write(Utf8JsonWriter writer, IReadOnlyList<UpstreamModel> models, string ownedBy)
    {
        writer.WriteStartObject();
        writer.WriteString("object"u8, "list"u8);
        writer.WriteStartArray("data"u8);
        foreach (var model in models)
        {
            WriteModel(writer, model, ownedBy);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>One model as OpenAI's model object (<c>GET /v1/models/{id}</c>, and each entry of the list).</summary>
    public static void WriteModel(Utf8JsonWriter writer, UpstreamModel model, string ownedBy)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, model.Id);
        writer.WriteString("object"u8, "model"u8);
        writer.WriteNumber("created"u8, Created(model.Json));
        writer.WriteString("owned_by"u8, ownedBy);
        writer.WriteEndObject();
    }

    private static long Created(byte[] json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.TryGetProperty("created_at", out var createdAt))
            {
                if (createdAt.ValueKind == JsonValueKind.String
                    && DateTimeOffset.TryParse(createdAt.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
                {
                    return when.ToUnixTimeSeconds();
                }

                if (createdAt.ValueKind == JsonValueKind.Number && createdAt.TryGetInt64(out var seconds))
                {
                    return seconds;
                }
            }
        }
        catch (JsonException)
        {
        }

        return 0;
    }
}
