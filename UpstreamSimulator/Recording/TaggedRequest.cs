namespace LlmGateway.UpstreamSimulator.Recording;

/// <summary>
/// All attempts that carried one <see cref="SimulatorHeaders.RequestTag"/>: the latest is what a tag query shows; the
/// last 100 stay reachable by their request id.
/// </summary>
internal sealed class TaggedRequest(string tag)
{
    private readonly Lock sync = new();
    private readonly TaskCompletionSource received = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private const int MaxAttemptsKept = 100;

    private readonly Queue<string> requestIds = new();
    private RequestAttempt? latest;
    private int attempts;

    public string Tag { get; } = tag;

    /// <summary>Completes when the first attempt with this tag arrives.</summary>
    public Task Received => received.Task;

    public int Attempts
    {
        get
        {
            lock (sync)
            {
                return attempts;
            }
        }
    }

    public RequestAttempt? Latest
    {
        get
        {
            lock (sync)
            {
                return latest;
            }
        }
    }

    /// <summary>Starts a new attempt; returns the request id of an attempt that is no longer kept, if any.</summary>
    public RequestAttempt BeginAttempt(string requestId, HttpRequest request, int maxBodyBytes, out string? forgottenRequestId)
    {
        RequestAttempt attempt;
        forgottenRequestId = null;
        lock (sync)
        {
            attempts++;
            attempt = new RequestAttempt(Tag, attempts, requestId, request, maxBodyBytes);
            latest = attempt;
            requestIds.Enqueue(requestId);
            if (requestIds.Count > MaxAttemptsKept)
            {
                forgottenRequestId = requestIds.Dequeue();
            }
        }

        received.TrySetResult();
        return attempt;
    }

    /// <summary>Request ids of the attempts still reachable by id (the latest <see cref="MaxAttemptsKept"/>).</summary>
    public string[] RequestIds()
    {
        lock (sync)
        {
            return [.. requestIds];
        }
    }
}
