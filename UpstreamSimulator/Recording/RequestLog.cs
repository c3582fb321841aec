using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace LlmGateway.UpstreamSimulator.Recording;

/// <summary>
/// The tagged requests the simulator remembers, bounded to <see cref="SimulatorOptions.MaxRecordedRequests"/> tags
/// (the oldest tag is forgotten first). Untagged requests never reach it.
/// </summary>
internal sealed class RequestLog(int capacity)
{
    private readonly ConcurrentDictionary<string, TaggedRequest> byTag = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> order = new();

    /// <summary>The entry for a tag, created when unknown (a query may wait for a request that has not arrived yet).</summary>
    public TaggedRequest GetOrAdd(string tag)
    {
        if (byTag.TryGetValue(tag, out var existing))
        {
            return existing;
        }

        var created = new TaggedRequest(tag);
        if (!byTag.TryAdd(tag, created))
        {
            return byTag[tag];
        }

        order.Enqueue(tag);
        while (byTag.Count > capacity && order.TryDequeue(out var oldest))
        {
            byTag.TryRemove(oldest, out _);
        }

        return created;
    }

    public bool TryGet(string tag, [NotNullWhen(true)] out TaggedRequest? entry) => byTag.TryGetValue(tag, out entry);
}
