using LlmGateway.AdminUi.Charts;

namespace LlmGateway.AdminUi.Tests;

/// <summary>The value axis of the usage charts: round, not wasteful, and whole numbers for counts.</summary>
public sealed class ChartScaleTests
{
    [Theory]
    [InlineData(3, true, 3, new double[] { 0, 1, 2, 3 })]
    [InlineData(1, true, 1, new double[] { 0, 1 })]
    [InlineData(42, true, 60, new double[] { 0, 20, 40, 60 })]
    [InlineData(42, false, 60, new double[] { 0, 20, 40, 60 })]
    [InlineData(0.000558, false, 0.0006, new double[] { 0, 0.0002, 0.0004, 0.0006 })]
    [InlineData(1, false, 1, new double[] { 0, 0.25, 0.5, 0.75, 1 })]
    [InlineData(0, true, 1, new double[] { 0, 1 })]
    public void A_chart_axis_runs_from_zero_to_a_round_number_at_or_above_the_largest_value(double largest, bool integral, double max, double[] ticks)
    {
        var scale = ChartScale.For(largest, integral: integral);
        Assert.Equal(max, scale.Max, 9);
        Assert.Equal(ticks, scale.Ticks.Select(t => Math.Round(t, 9)));
        Assert.InRange(scale.Fraction(largest), 0, 1);
    }
}
