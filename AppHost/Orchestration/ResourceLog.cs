namespace LlmGateway.AppHost.Orchestration;

/// <summary>The console output of one resource: a bounded buffer for tests, echoed with a coloured name prefix.</summary>
public sealed class ResourceLog(string name, int capacity, bool echo, ConsoleColor color)
{
    private static readonly Lock ConsoleGate = new();
    private readonly Queue<string> _lines = new();
    private readonly Lock _gate = new();

    public string Name { get; } = name;

    public void Write(string line)
    {
        lock (_gate)
        {
            if (_lines.Count == capacity)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(line);
        }

        if (echo)
        {
            lock (ConsoleGate)
            {
                var previous = Console.ForegroundColor;
                Console.ForegroundColor = color;
                Console.Write($"[{Name}] ");
                Console.ForegroundColor = previous;
                Console.WriteLine(line);
            }
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (_gate)
        {
            return [.. _lines];
        }
    }
}
