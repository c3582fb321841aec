using System.Runtime.InteropServices;
using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Model;

/// <summary>
/// The simulator's tokenizer: one token per 4 bytes (rounded up, at least 1) of the countable request parts,
/// i.e. the JSON text of system text, message text, tool results, other content blocks and tool definitions.
/// Fields such as <c>max_tokens</c> or <c>stream</c> do not count, so <c>/v1/messages</c> and
/// <c>/v1/messages/count_tokens</c> report the same number for the same conversation.
/// </summary>
internal static class InputTokenCounter
{
    public static int ToTokens(long bytes) => (int)Math.Clamp((bytes + 3) / 4, 1, int.MaxValue);

    /// <summary>Byte length of a JSON value's text (for a string: without the quotes, escapes as written).</summary>
    public static int Bytes(JsonElement element)
    {
        var raw = JsonMarshal.GetRawUtf8Value(element).Length;
        return element.ValueKind == JsonValueKind.String ? Math.Max(0, raw - 2) : raw;
    }
}
