using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Model;

/// <summary>
/// Reads and validates a Messages (or count_tokens) request body the way the real API does for the fields the
/// simulator uses; unknown fields are ignored. Error messages follow the API's <c>field: problem</c> wording.
/// </summary>
internal static class AnthropicRequestReader
{
    public static bool TryReadMessages(JsonElement root, bool countTokensOnly, out GenerationRequest request, out string? error)
    {
        request = new GenerationRequest();
        error = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "Request body must be a JSON object";
            return false;
        }

        if (!TryReadModel(root, request, ref error))
        {
            return false;
        }

        if (!countTokensOnly)
        {
            if (!root.TryGetProperty("max_tokens"u8, out var maxTokens))
            {
                error = "max_tokens: Field required";
                return false;
            }

            if (maxTokens.ValueKind != JsonValueKind.Number || !maxTokens.TryGetInt64(out var max))
            {
                error = "max_tokens: Input should be a valid integer";
                return false;
            }

            if (max < 0)
            {
                error = "max_tokens: Input should be greater than or equal to 0";
                return false;
            }

            request.MaxTokens = max;

            if (root.TryGetProperty("stream"u8, out var stream) && stream.ValueKind != JsonValueKind.Null)
            {
                if (stream.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    error = "stream: Input should be a valid boolean";
                    return false;
                }

                request.Stream = stream.ValueKind == JsonValueKind.True;
            }

            if (!TryReadStopSequences(root, request, ref error))
            {
                return false;
            }
        }

        long bytes = 0;
        if (!TryCountSystem(root, ref bytes, ref error)
            || !TryReadMessageList(root, request, ref bytes, ref error)
            || !TryReadThinking(root, request, countTokensOnly, ref error)
            || !TryReadTools(root, request, ref bytes, ref error))
        {
            return false;
        }

        request.InputTokens = InputTokenCounter.ToTokens(bytes);
        return true;
    }

    private static bool TryReadModel(JsonElement root, GenerationRequest request, ref string? error)
    {
        if (!root.TryGetProperty("model"u8, out var model))
        {
            error = "model: Field required";
            return false;
        }

        if (model.ValueKind != JsonValueKind.String)
        {
            error = "model: Input should be a valid string";
            return false;
        }

        var name = model.GetString()!;
        if (name.Length == 0)
        {
            error = "model: String should have at least 1 character";
            return false;
        }

        request.Model = name;
        return true;
    }

    private static bool TryReadStopSequences(JsonElement root, GenerationRequest request, ref string? error)
    {
        if (!root.TryGetProperty("stop_sequences"u8, out var stops) || stops.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (stops.ValueKind != JsonValueKind.Array)
        {
            error = "stop_sequences: Input should be a valid list";
            return false;
        }

        var list = new string[stops.GetArrayLength()];
        var i = 0;
        foreach (var stop in stops.EnumerateArray())
        {
            if (stop.ValueKind != JsonValueKind.String)
            {
                error = $"stop_sequences.{i}: Input should be a valid string";
                return false;
            }

            list[i++] = stop.GetString()!;
        }

        request.StopSequences = list;
        return true;
    }

    private static bool TryCountSystem(JsonElement root, ref long bytes, ref string? error)
    {
        if (!root.TryGetProperty("system"u8, out var system) || system.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        switch (system.ValueKind)
        {
            case JsonValueKind.String:
                bytes += InputTokenCounter.Bytes(system);
                return true;
            case JsonValueKind.Array:
                foreach (var block in system.EnumerateArray())
                {
                    bytes += CountBlock(block);
                }

                return true;
            default:
                error = "system: Input should be a valid string or a list of text blocks";
                return false;
        }
    }

    private static bool TryReadMessageList(JsonElement root, GenerationRequest request, ref long bytes, ref string? error)
    {
        if (!root.TryGetProperty("messages"u8, out var messages))
        {
            error = "messages: Field required";
            return false;
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            error = "messages: Input should be a valid list";
            return false;
        }

        var count = messages.GetArrayLength();
        if (count == 0)
        {
            error = "messages: List should have at least 1 item after validation, not 0";
            return false;
        }

        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                error = $"messages.{index}: Input should be a valid dictionary or object";
                return false;
            }

            if (!message.TryGetProperty("role"u8, out var role))
            {
                error = $"messages.{index}.role: Field required";
                return false;
            }

            var isUser = role.ValueKind == JsonValueKind.String && role.ValueEquals("user"u8);
            // Claude Code (2.1.154 and later) sends mid-conversation system instructions as messages with role
            // "system", which the Messages API accepts after the first turn; before it, only user or assistant.
            var isSystem = index > 0 && role.ValueKind == JsonValueKind.String && role.ValueEquals("system"u8);
            if (!isUser && !isSystem && !(role.ValueKind == JsonValueKind.String && role.ValueEquals("assistant"u8)))
            {
                error = index > 0
                    ? $"messages.{index}.role: Input should be 'user', 'assistant' or 'system'"
                    : $"messages.{index}.role: Input should be 'user' or 'assistant'";
                return false;
            }

            if (!message.TryGetProperty("content"u8, out var content))
            {
                error = $"messages.{index}.content: Field required";
                return false;
            }

            var isLast = index == count - 1;
            switch (content.ValueKind)
            {
                case JsonValueKind.String:
                    bytes += InputTokenCounter.Bytes(content);
                    if (isLast && isUser)
                    {
                        request.LastUserText = content.GetString();
                    }

                    break;
                case JsonValueKind.Array:
                    string? text = null;
                    var blockIndex = 0;
                    foreach (var block in content.EnumerateArray())
                    {
                        if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String)
                        {
                            error = $"messages.{index}.content.{blockIndex}.type: Field required";
                            return false;
                        }

                        bytes += CountBlock(block);
                        if (isLast && isUser && type.ValueEquals("text"u8) && block.TryGetProperty("text"u8, out var blockText) && blockText.ValueKind == JsonValueKind.String)
                        {
                            text = text is null ? blockText.GetString() : text + "\n" + blockText.GetString();
                        }

                        blockIndex++;
                    }

                    if (isLast && isUser)
                    {
                        request.LastUserText = text;
                    }

                    break;
                default:
                    error = $"messages.{index}.content: Input should be a valid string or a list of content blocks";
                    return false;
            }

            index++;
        }

        return true;
    }

    /// <summary>Text blocks count their text, tool results their content, everything else its JSON text.</summary>
    private static long CountBlock(JsonElement block)
    {
        if (block.ValueKind == JsonValueKind.Object && block.TryGetProperty("type"u8, out var type) && type.ValueKind == JsonValueKind.String)
        {
            if (type.ValueEquals("text"u8) && block.TryGetProperty("text"u8, out var text))
            {
                return InputTokenCounter.Bytes(text);
            }

            if (type.ValueEquals("tool_result"u8))
            {
                if (!block.TryGetProperty("content"u8, out var content))
                {
                    return 0;
                }

                if (content.ValueKind != JsonValueKind.Array)
                {
                    return InputTokenCounter.Bytes(content);
                }

                long total = 0;
                foreach (var inner in content.EnumerateArray())
                {
                    total += CountBlock(inner);
                }

                return total;
            }
        }

        return InputTokenCounter.Bytes(block);
    }

    private static bool TryReadThinking(JsonElement root, GenerationRequest request, bool countTokensOnly, ref string? error)
    {
        if (!root.TryGetProperty("thinking"u8, out var thinking) || thinking.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (thinking.ValueKind != JsonValueKind.Object || !thinking.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String)
        {
            error = "thinking.type: Field required";
            return false;
        }

        if (type.ValueEquals("disabled"u8) || type.ValueEquals("adaptive"u8))
        {
            return true;
        }

        if (!type.ValueEquals("enabled"u8))
        {
            error = "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'";
            return false;
        }

        if (!thinking.TryGetProperty("budget_tokens"u8, out var budget) || !budget.TryGetInt64(out var budgetTokens))
        {
            error = "thinking.enabled.budget_tokens: Field required";
            return false;
        }

        if (budgetTokens < 1024)
        {
            error = "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
            return false;
        }

        if (!countTokensOnly && request.MaxTokens <= budgetTokens)
        {
            error = "`max_tokens` must be greater than `thinking.budget_tokens`";
            return false;
        }

        request.ThinkingEnabled = true;
        return true;
    }

    private static bool TryReadTools(JsonElement root, GenerationRequest request, ref long bytes, ref string? error)
    {
        List<ToolCandidate>? tools = null;
        if (root.TryGetProperty("tools"u8, out var toolList) && toolList.ValueKind != JsonValueKind.Null)
        {
            if (toolList.ValueKind != JsonValueKind.Array)
            {
                error = "tools: Input should be a valid list";
                return false;
            }

            var index = 0;
            foreach (var tool in toolList.EnumerateArray())
            {
                if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("name"u8, out var name) || name.ValueKind != JsonValueKind.String)
                {
                    error = $"tools.{index}.name: Field required";
                    return false;
                }

                bytes += InputTokenCounter.Bytes(tool);
                tool.TryGetProperty("input_schema"u8, out var schema);
                (tools ??= []).Add(new ToolCandidate(name.GetString()!, schema));
                index++;
            }
        }

        var mode = ToolChoiceMode.Auto;
        string? forcedName = null;
        if (root.TryGetProperty("tool_choice"u8, out var choice) && choice.ValueKind != JsonValueKind.Null)
        {
            if (choice.ValueKind != JsonValueKind.Object || !choice.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String)
            {
                error = "tool_choice.type: Field required";
                return false;
            }

            if (type.ValueEquals("auto"u8))
            {
                mode = ToolChoiceMode.Auto;
            }
            else if (type.ValueEquals("any"u8))
            {
                mode = ToolChoiceMode.Any;
            }
            else if (type.ValueEquals("none"u8))
            {
                mode = ToolChoiceMode.None;
            }
            else if (type.ValueEquals("tool"u8))
            {
                if (!choice.TryGetProperty("name"u8, out var name) || name.ValueKind != JsonValueKind.String)
                {
                    error = "tool_choice.tool.name: Field required";
                    return false;
                }

                mode = ToolChoiceMode.Named;
                forcedName = name.GetString();
            }
            else
            {
                error = "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'";
                return false;
            }

            if (mode is ToolChoiceMode.Any or ToolChoiceMode.Named && (tools is null || tools.Count == 0))
            {
                error = "tool_choice: tool_choice may only be specified while providing tools";
                return false;
            }
        }

        var selected = ToolSelector.Select(tools, mode, forcedName, request.LastUserText);
        if (mode == ToolChoiceMode.Named && selected < 0)
        {
            error = $"tool_choice: Tool '{forcedName}' not found in tools";
            return false;
        }

        if (selected >= 0)
        {
            request.ToolName = tools![selected].Name;
            request.ToolInputJson = ToolInputGenerator.Generate(tools[selected].Schema);
            request.ToolForced = mode is ToolChoiceMode.Any or ToolChoiceMode.Named;
        }

        return true;
    }
}
