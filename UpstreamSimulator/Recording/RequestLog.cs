using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace LlmGateway.UpstreamSimulator.Recording;

/// <summary>
/// The tagged requests the simulator remembers, bounded to <see cref="SimulatorOptions.MaxRecordedRequests"/> tags
/// (the oldest tag is forgotten first, with its attempts). Each attempt is reachable by its tag (latest attempt) and by
/// its <c>request-id</c>. Untagged requests never reach it.
/// </summary>
internal sealed class RequestLog(int capacity)
{
    private readonly ConcurrentDictionary<string, TaggedRequest> byTag = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RequestAttempt> byRequestId = new(StringComparer.Ordinal);
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
            if (byTag.TryRemove(oldest, out var forgotten))
            {
                foreach (var requestId in forgotten.RequestIds())
                {
                    byRequestId.TryRemove(requestId, out _);
                }
            }
        }

        return created;
    }

    /// <summary>Records the start of an attempt for <paramref name="tag"/>.</summary>
    public RequestAttempt BeginAttempt(string tag, string requestId, HttpRequest request, int maxBodyBytes)
    {
        var entry = GetOrAdd(tag);
        var attempt = entry.BeginAttempt(requestId, request, maxBodyBytes, out var forgottenRequestId);
        byRequestId[requestId] = attempt;
        if (forgottenRequestId is not null)
        {
            byRequestId.TryRemove(forgottenRequestId, out _);
        }

        if (!byTag.TryGetValue(tag, out var current) || !ReferenceEquals(current, entry))
        {
            // The tag was forgotten while this attempt started: do not leave its id behind.
            byRequestId.TryRemove(requestId, out _);
        }

        return attempt;
    }

    public bool TryGet(string tag, [NotNullWhen(true)] out TaggedRequest? entry) => byTag.TryGetValue(tag, out entry);

    public bool TryGetAttempt(string requestId, [NotNullWhen(true)] out RequestAttempt? attempt) => byRequestId.TryGetValue(requestId, out attempt);
}
