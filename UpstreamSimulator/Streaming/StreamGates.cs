using System.Collections.Concurrent;

namespace LlmGateway.UpstreamSimulator.Streaming;

/// <summary>
/// Gates for the no-buffering handshake (<see cref="SimulatorHeaders.Gate"/>): a gated stream sends one SSE event
/// per release. A gate is created by whichever comes first, the stream or a release, and removed when its stream ends.
/// </summary>
internal sealed class StreamGates
{
    private readonly ConcurrentDictionary<string, Gate> gates = new(StringComparer.Ordinal);

    public Gate Acquire(string id) => gates.GetOrAdd(id, static _ => new Gate());

    /// <summary>Allows <paramref name="count"/> more events; returns the total released so far.</summary>
    public int Release(string id, int count) => Acquire(id).Release(count);

    public void Remove(string id, Gate gate) => gates.TryRemove(new KeyValuePair<string, Gate>(id, gate));

    internal sealed class Gate
    {
        private readonly SemaphoreSlim permits = new(0);
        private int released;

        public int Release(int count)
        {
            permits.Release(count);
            return Interlocked.Add(ref released, count);
        }

        public Task WaitAsync(CancellationToken cancellationToken) => permits.WaitAsync(cancellationToken);
    }
}
