using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Model;

internal enum ToolChoiceMode
{
    Auto,
    Any,
    Named,
    None,
}

/// <summary>A tool the request declares: its name and its input JSON Schema (undefined for server tools).</summary>
internal readonly record struct ToolCandidate(string Name, JsonElement Schema);

/// <summary>
/// Decides whether the reply calls a tool. The rule, identical for Anthropic and OpenAI requests:
/// <list type="number">
/// <item>no tools, or tool_choice none: no tool call;</item>
/// <item>tool_choice naming a tool (Anthropic <c>{"type":"tool","name"}</c>, OpenAI <c>{"type":"function","function":{"name"}}</c>): that tool, forced;</item>
/// <item>tool_choice any (OpenAI <c>"required"</c>): the first declared tool, forced;</item>
/// <item>auto or absent: the first declared tool whose name occurs (ignoring case) in the text of the final user
/// message, if any; the reply then has its text followed by the call. A final message that holds only tool results
/// has no text, so an agent loop ends with a plain text answer.</item>
/// </list>
/// A forced call is the whole reply (no text block), like the real API with a forced tool_choice.
/// </summary>
internal static class ToolSelector
{
    public static int Select(List<ToolCandidate>? tools, ToolChoiceMode mode, string? forcedName, string? lastUserText)
    {
        if (tools is null || tools.Count == 0)
        {
            return -1;
        }

        switch (mode)
        {
            case ToolChoiceMode.None:
                return -1;
            case ToolChoiceMode.Any:
                return 0;
            case ToolChoiceMode.Named:
                for (var i = 0; i < tools.Count; i++)
                {
                    if (string.Equals(tools[i].Name, forcedName, StringComparison.Ordinal))
                    {
                        return i;
                    }
                }

                return -1;
            default:
                if (string.IsNullOrEmpty(lastUserText))
                {
                    return -1;
                }

                for (var i = 0; i < tools.Count; i++)
                {
                    if (tools[i].Name.Length > 0 && lastUserText.Contains(tools[i].Name, StringComparison.OrdinalIgnoreCase))
                    {
                        return i;
                    }
                }

                return -1;
        }
    }
}
