namespace LlmGateway.Gateway.Translation;

/// <summary>Anthropic <c>stop_reason</c> ↔ OpenAI <c>finish_reason</c>.</summary>
internal static class FinishReasons
{
    /// <summary>
    /// <c>end_turn</c>/<c>stop_sequence</c>/<c>pause_turn</c> → <c>stop</c>, <c>max_tokens</c> and
    /// <c>model_context_window_exceeded</c> → <c>length</c>, <c>tool_use</c> → <c>tool_calls</c>,
    /// <c>refusal</c> → <c>content_filter</c>; anything new → <c>stop</c>.
    /// </summary>
    public static string FromStopReason(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };

    /// <summary><c>stop</c> → <c>end_turn</c>, <c>length</c> → <c>max_tokens</c>, <c>tool_calls</c>/<c>function_call</c> → <c>tool_use</c>, <c>content_filter</c> → <c>refusal</c>.</summary>
    public static string ToStopReason(string? finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };
}
