using System.Buffers;
using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Model;

internal enum StopReason
{
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
}

/// <summary>
/// The complete, deterministic reply to one request, decided before anything is written: the words, the optional
/// thinking and tool call, the stop reason and the token counts. Every writer (JSON or SSE, Anthropic or OpenAI)
/// renders the same plan, so streamed and non-streamed replies to the same request carry the same content.
/// </summary>
internal sealed class ReplyPlan
{
    private const int StackTextLimit = 256;

    public required string Model { get; init; }

    /// <summary>Words the text cycles through; word <c>i</c> of the reply is <c>Vocabulary[i % Length]</c>.</summary>
    public required string[] Vocabulary { get; init; }

    public int WordCount { get; init; }

    public int WordsPerDelta { get; init; }

    public StopReason StopReason { get; init; }

    public string? StopSequence { get; init; }

    public string? Thinking { get; init; }

    public string? ThinkingSignature { get; init; }

    public string? ToolName { get; init; }

    public string? ToolId { get; init; }

    public string? ToolInputJson { get; init; }

    public int InputTokens { get; init; }

    public int CacheReadTokens { get; init; }

    public int CacheCreationTokens { get; init; }

    public int OutputTokens { get; init; }

    public bool HasText => WordCount > 0;

    public string Word(int index) => Vocabulary[index % Vocabulary.Length];

    /// <summary>
    /// Writes words <paramref name="start"/>..<paramref name="start"/>+<paramref name="count"/> as one JSON string
    /// property, each word preceded by a space except the reply's very first one (unless <paramref name="leadingSpace"/>).
    /// </summary>
    public void WriteText(Utf8JsonWriter writer, ReadOnlySpan<byte> propertyName, int start, int count, bool leadingSpace = false)
    {
        var length = 0;
        for (var i = start; i < start + count; i++)
        {
            length += Word(i).Length + (i > 0 || leadingSpace ? 1 : 0);
        }

        char[]? rented = null;
        var buffer = length <= StackTextLimit ? stackalloc char[StackTextLimit] : (rented = ArrayPool<char>.Shared.Rent(length));
        var position = 0;
        for (var i = start; i < start + count; i++)
        {
            if (i > 0 || leadingSpace)
            {
                buffer[position++] = ' ';
            }

            var word = Word(i);
            word.CopyTo(buffer[position..]);
            position += word.Length;
        }

        writer.WriteString(propertyName, buffer[..position]);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>The tool input split into the <c>partial_json</c> / <c>arguments</c> fragments a stream carries.</summary>
    public IEnumerable<string> ToolInputFragments(int size = 16)
    {
        var json = ToolInputJson ?? "{}";
        for (var start = 0; start < json.Length;)
        {
            var end = Math.Min(start + size, json.Length);
            if (end < json.Length && char.IsHighSurrogate(json[end - 1]))
            {
                end++;
            }

            yield return json[start..end];
            start = end;
        }
    }
}
