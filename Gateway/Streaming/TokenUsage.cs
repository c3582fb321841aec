using System.Text.Json;

namespace LlmGateway.Gateway.Streaming;

/// <summary>
/// Anthropic usage counts. They are cumulative whole-message totals: later values overwrite earlier ones, never add.
/// </summary>
internal struct TokenUsage
{
    public long InputTokens;
    public long OutputTokens;
    public long CacheCreationInputTokens;
    public long CacheReadInputTokens;

    /// <summary>True once any usage object was seen.</summary>
    public bool Reported;

    /// <summary>Reads a <c>usage</c> object; the reader is on its <see cref="JsonTokenType.StartObject"/> and ends on its end.</summary>
    public void Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        Reported = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("input_tokens"u8) ? 1
                : reader.ValueTextEquals("output_tokens"u8) ? 2
                : reader.ValueTextEquals("cache_creation_input_tokens"u8) ? 3
                : reader.ValueTextEquals("cache_read_input_tokens"u8) ? 4
                : 0;

            reader.Read();
            if (field != 0 && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value))
            {
                switch (field)
                {
                    case 1: InputTokens = value; break;
                    case 2: OutputTokens = value; break;
                    case 3: CacheCreationInputTokens = value; break;
                    default: CacheReadInputTokens = value; break;
                }
            }
            else
            {
                reader.Skip();
            }
        }
    }
}

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
