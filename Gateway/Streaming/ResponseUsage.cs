using System.Text.Json;
using LlmGateway.Contracts.Pricing;

namespace LlmGateway.Gateway.Streaming;

/// <summary>
/// The usage a response reports, as it is read: Anthropic's counts, which are cumulative whole-message totals (later
/// values overwrite earlier ones, never add), and whether any were reported at all. <see cref="ToTokenUsage"/> gives
/// the counts that are priced.
/// </summary>
internal struct ResponseUsage
{
    public long InputTokens;
    public long OutputTokens;
    public long CacheCreationInputTokens;
    public long CacheReadInputTokens;

    /// <summary>True once any usage object was seen.</summary>
    public bool Reported;

    public readonly TokenUsage ToTokenUsage() => new(InputTokens, OutputTokens, CacheCreationInputTokens, CacheReadInputTokens);

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
