using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Model;

/// <summary>Reads a legacy Text Completions request (<c>POST /v1/complete</c>).</summary>
internal static class LegacyCompleteRequestReader
{
    private const string HumanTurn = "\n\nHuman:";
    private const string AssistantTurn = "\n\nAssistant:";

    public static bool TryRead(JsonElement root, out GenerationRequest request, out string? error)
    {
        request = new GenerationRequest();
        error = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "Request body must be a JSON object";
            return false;
        }

        if (!root.TryGetProperty("model"u8, out var model) || model.ValueKind != JsonValueKind.String || model.GetString() is not { Length: > 0 } modelName)
        {
            error = "model: Field required";
            return false;
        }

        request.Model = modelName;

        if (!root.TryGetProperty("max_tokens_to_sample"u8, out var max))
        {
            error = "max_tokens_to_sample: Field required";
            return false;
        }

        if (max.ValueKind != JsonValueKind.Number || !max.TryGetInt64(out var maxTokens) || maxTokens < 1)
        {
            error = "max_tokens_to_sample: Input should be a valid integer greater than or equal to 1";
            return false;
        }

        request.MaxTokens = maxTokens;

        if (!root.TryGetProperty("prompt"u8, out var prompt) || prompt.ValueKind != JsonValueKind.String)
        {
            error = "prompt: Field required";
            return false;
        }

        var text = prompt.GetString()!;
        if (!text.StartsWith(HumanTurn, StringComparison.Ordinal))
        {
            error = "prompt must start with \"\\n\\nHuman:\" turn";
            return false;
        }

        if (!text.TrimEnd(' ').EndsWith(AssistantTurn, StringComparison.Ordinal))
        {
            error = "prompt must end with \"\\n\\nAssistant:\" turn";
            return false;
        }

        var lastHuman = text.LastIndexOf(HumanTurn, StringComparison.Ordinal) + HumanTurn.Length;
        var assistant = text.IndexOf(AssistantTurn, lastHuman, StringComparison.Ordinal);
        request.LastUserText = text[lastHuman..(assistant < 0 ? text.Length : assistant)];
        request.InputTokens = InputTokenCounter.ToTokens(InputTokenCounter.Bytes(prompt));

        if (root.TryGetProperty("stream"u8, out var stream) && stream.ValueKind != JsonValueKind.Null)
        {
            if (stream.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                error = "stream: Input should be a valid boolean";
                return false;
            }

            request.Stream = stream.ValueKind == JsonValueKind.True;
        }

        if (root.TryGetProperty("stop_sequences"u8, out var stops) && stops.ValueKind == JsonValueKind.Array)
        {
            var list = new List<string>();
            foreach (var stop in stops.EnumerateArray())
            {
                if (stop.ValueKind != JsonValueKind.String)
                {
                    error = "stop_sequences: Input should be a list of strings";
                    return false;
                }

                list.Add(stop.GetString()!);
            }

            request.StopSequences = [.. list];
        }

        return true;
    }
}
