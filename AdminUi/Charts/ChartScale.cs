namespace LlmGateway.AdminUi.Charts;

/// <summary>A value axis from zero to a round number at or above the largest value, with evenly spaced ticks.</summary>
public sealed record ChartScale(double Max, IReadOnlyList<double> Ticks)
{
    private static readonly double[] NiceFactors = [1, 2, 2.5, 5, 10];

    /// <summary>
    /// The smallest "nice" step (1, 2, 2.5 or 5 × a power of ten) that covers the largest value in at most
    /// <paramref name="maxIntervals"/> intervals; counts (<paramref name="integral"/>) never get a step below 1.
    /// </summary>
    public static ChartScale For(double largest, int maxIntervals = 4, bool integral = false)
    {
        if (!(largest > 0) || double.IsInfinity(largest))
        {
            return new ChartScale(1, [0, 1]);
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(largest / maxIntervals)));
        var step = NiceFactors.Select(f => f * magnitude)
            .Where(s => !integral || (s >= 1 && s == Math.Floor(s)))
            .Append(integral ? Math.Max(1, Math.Ceiling(largest / maxIntervals)) : 10 * magnitude)
            .First(s => Math.Ceiling(largest / s - 1e-9) <= maxIntervals);
        var intervals = (int)Math.Max(1, Math.Ceiling(largest / step - 1e-9));
        return new ChartScale(step * intervals, Enumerable.Range(0, intervals + 1).Select(i => i * step).ToList());
    }

    /// <summary>The share of the axis a value takes (0–1).</summary>
    public double Fraction(double value) => Math.Clamp(value / Max, 0, 1);
}
