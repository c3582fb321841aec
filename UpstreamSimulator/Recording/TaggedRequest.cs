namespace LlmGateway.UpstreamSimulator.Recording;

/// <summary>All attempts that carried one <see cref="SimulatorHeaders.RequestTag"/>; the latest one is kept.</summary>
internal sealed class TaggedRequest(string tag)
{
    private readonly Lock sync = new();
    private readonly TaskCompletionSource received = new(TaskCreationOptions.RunContinuationsAsynchronously);
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

    public RequestAttempt BeginAttempt(string requestId, HttpRequest request, int maxBodyBytes)
    {
        RequestAttempt attempt;
        lock (sync)
        {
            attempts++;
            attempt = new RequestAttempt(attempts, requestId, request, maxBodyBytes);
            latest = attempt;
        }

        received.TrySetResult();
        return attempt;
    }
}
