using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Model;

/// <summary>A failed OpenAI validation: the message plus the <c>param</c> and <c>code</c> OpenAI reports.</summary>
internal readonly record struct OpenAiRequestError(string Message, string? Param, string? Code);

/// <summary>Reads and validates a Chat Completions request body (the fields the simulator uses).</summary>
internal static class OpenAiRequestReader
{
    public static bool TryReadChat(JsonElement root, out GenerationRequest request, out OpenAiRequestError error)
    {
        request = new GenerationRequest();
        error = default;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = new("Request body must be a JSON object.", null, null);
            return false;
        }

        if (!root.TryGetProperty("model"u8, out var model) || model.ValueKind != JsonValueKind.String || model.GetString() is not { Length: > 0 } modelName)
        {
            error = new("you must provide a model parameter", null, null);
            return false;
        }

        request.Model = modelName;

        if (!TryReadMaxTokens(root, request, out error)
            || !TryReadStreamFlags(root, request, out error)
            || !TryReadStop(root, request, out error))
        {
            return false;
        }

        long bytes = 0;
        if (!TryReadMessages(root, request, ref bytes, out error) || !TryReadTools(root, request, ref bytes, out error))
        {
            return false;
        }

        request.InputTokens = InputTokenCounter.ToTokens(bytes);
        return true;
    }

    private static bool TryReadMaxTokens(JsonElement root, GenerationRequest request, out OpenAiRequestError error)
    {
        error = default;
        foreach (var name in (ReadOnlySpan<string>)["max_completion_tokens", "max_tokens"])
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var max))
            {
                error = new($"Invalid type for '{name}': expected an integer, but got {Describe(value)} instead.", name, "invalid_type");
                return false;
            }

            if (max < 1)
            {
                error = new($"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {max} instead.", name, "integer_below_min_value");
                return false;
            }

            request.MaxTokens = max;
            return true;
        }

        return true;
    }

    private static bool TryReadStreamFlags(JsonElement root, GenerationRequest request, out OpenAiRequestError error)
    {
        error = default;
        if (root.TryGetProperty("stream"u8, out var stream) && stream.ValueKind != JsonValueKind.Null)
        {
            if (stream.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                error = new($"Invalid type for 'stream': expected a boolean, but got {Describe(stream)} instead.", "stream", "invalid_type");
                return false;
            }

            request.Stream = stream.ValueKind == JsonValueKind.True;
        }

        if (root.TryGetProperty("stream_options"u8, out var options) && options.ValueKind != JsonValueKind.Null)
        {
            if (!request.Stream)
            {
                error = new("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options", null);
                return false;
            }

            request.IncludeUsage = options.ValueKind == JsonValueKind.Object
                && options.TryGetProperty("include_usage"u8, out var includeUsage)
                && includeUsage.ValueKind == JsonValueKind.True;
        }

        return true;
    }

    private static bool TryReadStop(JsonElement root, GenerationRequest request, out OpenAiRequestError error)
    {
        error = default;
        if (!root.TryGetProperty("stop"u8, out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            request.StopSequences = [stop.GetString()!];
            return true;
        }

        if (stop.ValueKind == JsonValueKind.Array)
        {
            var list = new List<string>();
            foreach (var item in stop.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    error = new("Invalid type for 'stop': expected a string or an array of strings.", "stop", "invalid_type");
                    return false;
                }

                list.Add(item.GetString()!);
            }

            request.StopSequences = [.. list];
            return true;
        }

        error = new($"Invalid type for 'stop': expected a string or an array of strings, but got {Describe(stop)} instead.", "stop", "invalid_type");
        return false;
    }

    private static bool TryReadMessages(JsonElement root, GenerationRequest request, ref long bytes, out OpenAiRequestError error)
    {
        error = default;
        if (!root.TryGetProperty("messages"u8, out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            error = new("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
            return false;
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            error = new($"Invalid type for 'messages': expected an array, but got {Describe(messages)} instead.", "messages", "invalid_type");
            return false;
        }

        var count = messages.GetArrayLength();
        if (count == 0)
        {
            error = new("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array");
            return false;
        }

        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role"u8, out var role) || role.ValueKind != JsonValueKind.String)
            {
                error = new($"Missing required parameter: 'messages[{index}].role'.", $"messages[{index}].role", "missing_required_parameter");
                return false;
            }

            var isUser = role.ValueEquals("user"u8);
            if (!isUser && !role.ValueEquals("assistant"u8) && !role.ValueEquals("system"u8) && !role.ValueEquals("developer"u8)
                && !role.ValueEquals("tool"u8) && !role.ValueEquals("function"u8))
            {
                error = new(
                    $"Invalid value: '{role.GetString()}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
                    $"messages[{index}].role",
                    "invalid_value");
                return false;
            }

            var isLast = index == count - 1;
            if (message.TryGetProperty("content"u8, out var content))
            {
                if (content.ValueKind == JsonValueKind.String)
                {
                    bytes += InputTokenCounter.Bytes(content);
                    if (isLast && isUser)
                    {
                        request.LastUserText = content.GetString();
                    }
                }
                else if (content.ValueKind == JsonValueKind.Array)
                {
                    string? text = null;
                    foreach (var part in content.EnumerateArray())
                    {
                        if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type"u8, out var type) && type.ValueEquals("text"u8)
                            && part.TryGetProperty("text"u8, out var partText) && partText.ValueKind == JsonValueKind.String)
                        {
                            bytes += InputTokenCounter.Bytes(partText);
                            if (isLast && isUser)
                            {
                                text = text is null ? partText.GetString() : text + "\n" + partText.GetString();
                            }
                        }
                        else
                        {
                            bytes += InputTokenCounter.Bytes(part);
                        }
                    }

                    if (isLast && isUser)
                    {
                        request.LastUserText = text;
                    }
                }
                else if (content.ValueKind != JsonValueKind.Null)
                {
                    error = new($"Invalid type for 'messages[{index}].content': expected one of a string or array of objects, but got {Describe(content)} instead.", $"messages[{index}].content", "invalid_type");
                    return false;
                }
            }
            else if (isUser)
            {
                error = new($"Missing required parameter: 'messages[{index}].content'.", $"messages[{index}].content", "missing_required_parameter");
                return false;
            }

            if (message.TryGetProperty("tool_calls"u8, out var toolCalls))
            {
                bytes += InputTokenCounter.Bytes(toolCalls);
            }

            index++;
        }

        return true;
    }

    private static bool TryReadTools(JsonElement root, GenerationRequest request, ref long bytes, out OpenAiRequestError error)
    {
        error = default;
        List<ToolCandidate>? tools = null;
        if (root.TryGetProperty("tools"u8, out var toolList) && toolList.ValueKind != JsonValueKind.Null)
        {
            if (toolList.ValueKind != JsonValueKind.Array)
            {
                error = new($"Invalid type for 'tools': expected an array, but got {Describe(toolList)} instead.", "tools", "invalid_type");
                return false;
            }

            var index = 0;
            foreach (var tool in toolList.EnumerateArray())
            {
                if (tool.ValueKind != JsonValueKind.Object
                    || !tool.TryGetProperty("function"u8, out var function) || function.ValueKind != JsonValueKind.Object
                    || !function.TryGetProperty("name"u8, out var name) || name.ValueKind != JsonValueKind.String)
                {
                    error = new($"Missing required parameter: 'tools[{index}].function.name'.", $"tools[{index}].function.name", "missing_required_parameter");
                    return false;
                }

                bytes += InputTokenCounter.Bytes(tool);
                function.TryGetProperty("parameters"u8, out var parameters);
                (tools ??= []).Add(new ToolCandidate(name.GetString()!, parameters));
                index++;
            }
        }

        var mode = ToolChoiceMode.Auto;
        string? forcedName = null;
        if (root.TryGetProperty("tool_choice"u8, out var choice) && choice.ValueKind != JsonValueKind.Null)
        {
            if (choice.ValueKind == JsonValueKind.String && choice.ValueEquals("auto"u8))
            {
                mode = ToolChoiceMode.Auto;
            }
            else if (choice.ValueKind == JsonValueKind.String && choice.ValueEquals("required"u8))
            {
                mode = ToolChoiceMode.Any;
            }
            else if (choice.ValueKind == JsonValueKind.String && choice.ValueEquals("none"u8))
            {
                mode = ToolChoiceMode.None;
            }
            else if (choice.ValueKind == JsonValueKind.Object
                && choice.TryGetProperty("function"u8, out var function) && function.ValueKind == JsonValueKind.Object
                && function.TryGetProperty("name"u8, out var name) && name.ValueKind == JsonValueKind.String)
            {
                mode = ToolChoiceMode.Named;
                forcedName = name.GetString();
            }
            else
            {
                error = new("Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a named function.", "tool_choice", "invalid_value");
                return false;
            }

            if (mode is ToolChoiceMode.Any or ToolChoiceMode.Named && (tools is null || tools.Count == 0))
            {
                error = new("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", "tool_choice", null);
                return false;
            }
        }

        var selected = ToolSelector.Select(tools, mode, forcedName, request.LastUserText);
        if (mode == ToolChoiceMode.Named && selected < 0)
        {
            error = new($"Invalid value for 'tool_choice': function '{forcedName}' is not among the provided tools.", "tool_choice", "invalid_value");
            return false;
        }

        if (selected >= 0)
        {
            request.ToolName = tools![selected].Name;
            request.ToolInputJson = ToolInputGenerator.Generate(tools[selected].Schema);
            request.ToolForced = true;
        }

        return true;
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
