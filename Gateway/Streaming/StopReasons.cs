using System.Text.Json;

namespace LlmGateway.Gateway.Streaming;

/// <summary>Well-known <c>stop_reason</c> values as constants, so reading one allocates nothing.</summary>
internal static class StopReasons
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string[]> Arrays = new(StringComparer.Ordinal);

    /// <summary>The one-element array a span's <c>gen_ai.response.finish_reasons</c> takes, shared per reason.</summary>
    public static string[] AsArray(string reason) =>
        Arrays.Count < 64 ? Arrays.GetOrAdd(reason, static r => [r]) : [reason];

    public static string? Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }

        if (reader.ValueTextEquals("end_turn"u8)) return "end_turn";
        if (reader.ValueTextEquals("max_tokens"u8)) return "max_tokens";
        if (reader.ValueTextEquals("tool_use"u8)) return "tool_use";
        if (reader.ValueTextEquals("stop_sequence"u8)) return "stop_sequence";
        if (reader.ValueTextEquals("pause_turn"u8)) return "pause_turn";
        if (reader.ValueTextEquals("refusal"u8)) return "refusal";
        if (reader.ValueTextEquals("model_context_window_exceeded"u8)) return "model_context_window_exceeded";
        return reader.GetString();
    }
}
