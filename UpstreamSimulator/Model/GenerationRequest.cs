namespace LlmGateway.UpstreamSimulator.Model;

/// <summary>
/// What a Messages, Chat Completions or legacy Complete request reduces to once read: everything the simulator
/// needs to produce its deterministic reply, so the request's JSON can be released before the reply is written.
/// </summary>
internal sealed class GenerationRequest
{
    public string Model { get; set; } = "";

    /// <summary>The request's token cap; null when the request sets none (allowed for OpenAI).</summary>
    public long? MaxTokens { get; set; }

    public bool Stream { get; set; }

    /// <summary>OpenAI <c>stream_options.include_usage</c>.</summary>
    public bool IncludeUsage { get; set; }

    /// <summary>Text of the final message when it is a user turn (text blocks only; tool results are not text).</summary>
    public string? LastUserText { get; set; }

    /// <summary>Anthropic <c>thinking: {"type":"enabled"}</c>.</summary>
    public bool ThinkingEnabled { get; set; }

    public string[]? StopSequences { get; set; }

    /// <summary>Deterministic input token count (see <see cref="InputTokenCounter"/>).</summary>
    public int InputTokens { get; set; }

    /// <summary>The tool the reply calls, chosen by <see cref="ToolSelector"/>; null for a text-only reply.</summary>
    public string? ToolName { get; set; }

    /// <summary>The generated tool input (a JSON object) when <see cref="ToolName"/> is set.</summary>
    public string? ToolInputJson { get; set; }

    /// <summary>True when tool_choice forced the call (any / named tool): the reply is the tool call only, without text.</summary>
    public bool ToolForced { get; set; }
}
