namespace LlmGateway.Benchmarks;

/// <summary>Latencies of one measured run, in microseconds, with percentile queries.</summary>
public sealed class LatencyRecorder
{
    private readonly List<double> _micros = [];
    private readonly Lock _gate = new();
    private bool _sorted;

    public int Count => _micros.Count;

    public void Add(TimeSpan elapsed)
    {
        lock (_gate)
        {
            _micros.Add(elapsed.TotalMicroseconds);
            _sorted = false;
        }
    }

    public void AddRange(IEnumerable<double> micros)
    {
        lock (_gate)
        {
            _micros.AddRange(micros);
            _sorted = false;
        }
    }

    /// <summary>The p-th percentile (0–100) in milliseconds, nearest-rank.</summary>
    public double PercentileMs(double p)
    {
        lock (_gate)
        {
            if (_micros.Count == 0)
            {
                return double.NaN;
            }

            if (!_sorted)
            {
                _micros.Sort();
                _sorted = true;
            }

            var rank = (int)Math.Ceiling(p / 100 * _micros.Count) - 1;
            return _micros[Math.Clamp(rank, 0, _micros.Count - 1)] / 1000;
        }
    }

    public double MeanMs()
    {
        lock (_gate)
        {
            return _micros.Count == 0 ? double.NaN : _micros.Average() / 1000;
        }
    }
}
