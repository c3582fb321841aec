namespace LlmGateway.AdminUi.Charts;

/// <summary>A value axis from zero to a round number at or above the largest value, with evenly spaced ticks.</summary>
public sealed record ChartScale(double Max, IReadOnlyList<double> Ticks)
{
    public static ChartScale For(double largest, int intervals = 4)
    {
        if (!(largest > 0) || double.IsInfinity(largest))
        {
            return new ChartScale(1, [0, 1]);
        }

        // The smallest "nice" step (1, 2, 2.5 or 5 × a power of ten) that covers the largest value in the intervals.
        var rough = largest / intervals;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var step = new[] { 1, 2, 2.5, 5, 10 }.Select(f => f * magnitude).First(s => s * intervals >= largest);
        return new ChartScale(step * intervals, Enumerable.Range(0, intervals + 1).Select(i => i * step).ToList());
    }

    /// <summary>The share of the axis a value takes (0–1).</summary>
    public double Fraction(double value) => Math.Clamp(value / Max, 0, 1);
}
