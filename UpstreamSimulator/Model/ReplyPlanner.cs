namespace LlmGateway.UpstreamSimulator.Model;

/// <summary>
/// Derives the reply from the request, deterministically:
/// <list type="bullet">
/// <item>text: N words cycling through the words of the final user message (at most 64 distinct words of at most
/// 64 characters each), or through a fixed sentence when that message has no text; N comes from
/// <see cref="SimulatorHeaders.OutputTokens"/> or <c>Simulator:DefaultOutputTokens</c>;</item>
/// <item>max tokens: more words than the request's cap are cut at the cap with stop reason <c>max_tokens</c>;</item>
/// <item>stop sequences: the reply stops before the first generated word equal to a stop sequence (<c>stop_sequence</c>);</item>
/// <item>tools: see <see cref="ToolSelector"/>; a call made while the text ran to its end gives <c>tool_use</c>;</item>
/// <item>thinking (Anthropic <c>thinking.type = enabled</c>): one short thinking block with a signature, first;</item>
/// <item>tokens: input from <see cref="InputTokenCounter"/>, cache figures from the cache headers, output = words +
/// thinking words + a quarter of the tool input's length (rounded up).</item>
/// </list>
/// </summary>
internal static class ReplyPlanner
{
    private const int MaxVocabulary = 64;
    private const int MaxWordLength = 64;
    private static readonly string[] FallbackVocabulary = ["Hello!", "This", "is", "the", "upstream", "simulator", "answering."];

    public static ReplyPlan Plan(GenerationRequest request, in SimulationControls controls, SimulatorOptions options, bool openAiIds = false)
    {
        var vocabulary = SplitWords(request.LastUserText) ?? FallbackVocabulary;
        var requested = request.ToolForced ? 0 : controls.OutputTokens ?? options.DefaultOutputTokens;
        var wordCount = requested;
        var stopReason = StopReason.EndTurn;
        string? stopSequence = null;

        if (request.MaxTokens is long cap && wordCount > cap)
        {
            wordCount = (int)cap;
            stopReason = StopReason.MaxTokens;
        }

        if (request.StopSequences is { Length: > 0 } stops)
        {
            for (var i = 0; i < wordCount && stopSequence is null; i++)
            {
                var word = vocabulary[i % vocabulary.Length];
                foreach (var stop in stops)
                {
                    if (string.Equals(stop, word, StringComparison.Ordinal))
                    {
                        wordCount = i;
                        stopReason = StopReason.StopSequence;
                        stopSequence = stop;
                        break;
                    }
                }
            }
        }

        string? toolName = null;
        string? toolId = null;
        string? toolInput = null;
        var toolTokens = 0;
        if (request.ToolName is not null && (request.ToolForced || stopReason == StopReason.EndTurn))
        {
            toolName = request.ToolName;
            toolInput = request.ToolInputJson ?? "{}";
            toolId = openAiIds ? IdGenerator.ToolCallId() : IdGenerator.ToolUseId();
            toolTokens = (toolInput.Length + 3) / 4;
            stopReason = StopReason.ToolUse;
        }

        string? thinking = null;
        string? signature = null;
        var thinkingTokens = 0;
        if (request.ThinkingEnabled)
        {
            thinking = $"The user wrote {(request.LastUserText is null ? 0 : CountWords(request.LastUserText))} words; I will answer with {wordCount} words.";
            thinkingTokens = CountWords(thinking);
            signature = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(thinking)));
        }

        return new ReplyPlan
        {
            Model = request.Model,
            Vocabulary = vocabulary,
            WordCount = wordCount,
            WordsPerDelta = controls.WordsPerDelta ?? options.WordsPerDelta,
            StopReason = stopReason,
            StopSequence = stopSequence,
            Thinking = thinking,
            ThinkingSignature = signature,
            ToolName = toolName,
            ToolId = toolId,
            ToolInputJson = toolInput,
            InputTokens = request.InputTokens,
            CacheReadTokens = controls.CacheReadTokens,
            CacheCreationTokens = controls.CacheCreationTokens,
            OutputTokens = wordCount + thinkingTokens + toolTokens,
        };
    }

    private static string[]? SplitWords(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var words = new List<string>(Math.Min(MaxVocabulary, 16));
        var span = text.AsSpan();
        var i = 0;
        while (i < span.Length && words.Count < MaxVocabulary)
        {
            while (i < span.Length && char.IsWhiteSpace(span[i]))
            {
                i++;
            }

            var start = i;
            while (i < span.Length && !char.IsWhiteSpace(span[i]))
            {
                i++;
            }

            if (i > start)
            {
                var length = Math.Min(i - start, MaxWordLength);
                if (length < i - start && char.IsHighSurrogate(span[start + length - 1]))
                {
                    length--;
                }

                words.Add(span.Slice(start, length).ToString());
            }
        }

        return words.Count == 0 ? null : [.. words];
    }

    private static int CountWords(string text)
    {
        var count = 0;
        var inWord = false;
        foreach (var c in text)
        {
            var isSpace = char.IsWhiteSpace(c);
            if (!isSpace && !inWord)
            {
                count++;
            }

            inWord = !isSpace;
        }

        return count;
    }
}
