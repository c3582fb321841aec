using System.Text;

namespace LlmGateway.UpstreamSimulator.Tests;

/// <summary>The simulator's documented deterministic rules, restated independently for assertions.</summary>
public static class Expected
{
    /// <summary>N words cycling through the words of <paramref name="userText"/>, joined by spaces.</summary>
    public static string Text(string userText, int words)
    {
        var vocabulary = userText.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return string.Join(' ', Enumerable.Range(0, words).Select(i => vocabulary[i % vocabulary.Length]));
    }

    /// <summary>ceil(bytes / 4), at least 1.</summary>
    public static int Tokens(int bytes) => Math.Max(1, (bytes + 3) / 4);

    public static int Tokens(string text) => Tokens(Encoding.UTF8.GetByteCount(text));
}
