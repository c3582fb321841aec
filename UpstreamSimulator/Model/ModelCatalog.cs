using System.Diagnostics.CodeAnalysis;

namespace LlmGateway.UpstreamSimulator.Model;

/// <summary>One model the simulator lists (Anthropic <c>ModelInfo</c> fields).</summary>
internal sealed record ModelEntry(string Id, string DisplayName, DateTimeOffset CreatedAt, int MaxInputTokens, int MaxTokens);

/// <summary>
/// The fixed model list served by <c>GET /v1/models</c>, newest first like the real API. Messages requests accept
/// any model name; this list only feeds the models endpoints.
/// </summary>
internal sealed class ModelCatalog
{
    public IReadOnlyList<ModelEntry> All { get; } =
    [
        new("claude-opus-4-5-20251101", "Claude Opus 4.5", new(2025, 11, 24, 0, 0, 0, TimeSpan.Zero), 200_000, 64_000),
        new("claude-haiku-4-5-20251001", "Claude Haiku 4.5", new(2025, 10, 15, 0, 0, 0, TimeSpan.Zero), 200_000, 64_000),
        new("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", new(2025, 9, 29, 0, 0, 0, TimeSpan.Zero), 200_000, 64_000),
        new("claude-opus-4-1-20250805", "Claude Opus 4.1", new(2025, 8, 5, 0, 0, 0, TimeSpan.Zero), 200_000, 32_000),
        new("claude-opus-4-20250514", "Claude Opus 4", new(2025, 5, 22, 0, 0, 0, TimeSpan.Zero), 200_000, 32_000),
        new("claude-sonnet-4-20250514", "Claude Sonnet 4", new(2025, 5, 22, 0, 0, 0, TimeSpan.Zero), 200_000, 64_000),
        new("claude-3-7-sonnet-20250219", "Claude Sonnet 3.7", new(2025, 2, 24, 0, 0, 0, TimeSpan.Zero), 200_000, 64_000),
        new("claude-3-5-haiku-20241022", "Claude Haiku 3.5", new(2024, 10, 22, 0, 0, 0, TimeSpan.Zero), 200_000, 8_192),
    ];

    /// <summary>Finds a model by id or by its alias (the id without the date suffix, e.g. <c>claude-sonnet-4-5</c>).</summary>
    public bool TryFind(string id, [NotNullWhen(true)] out ModelEntry? model)
    {
        foreach (var entry in All)
        {
            if (string.Equals(entry.Id, id, StringComparison.Ordinal)
                || (entry.Id.Length == id.Length + 9 && entry.Id.StartsWith(id, StringComparison.Ordinal) && entry.Id[id.Length] == '-'))
            {
                model = entry;
                return true;
            }
        }

        model = null;
        return false;
    }

    /// <summary>Index of a model id in <see cref="All"/>, or -1.</summary>
    public int IndexOf(string id)
    {
        for (var i = 0; i < All.Count; i++)
        {
            if (string.Equals(All[i].Id, id, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
