using System.Globalization;

namespace LlmGateway.AdminUi.Charts;

/// <summary>One bar of a chart: its label, its value, the value as text, and where it links to.</summary>
public sealed record ChartPoint(string Label, double Value, string Text, string? Href = null);

/// <summary>
/// A chart of values over time (one vertical bar per bucket), drawn as SVG on the server: the geometry is computed
/// here, the markup is <c>Pages/Shared/_ColumnChart.cshtml</c>, and the same points make the table under it.
/// </summary>
public sealed class ColumnChart
{
    public const double Width = 720;
    public const double Height = 220;
    public const double Left = 64;
    public const double Right = 8;
    public const double Top = 10;
    public const double Bottom = 28;
    private const int MaxXLabels = 8;

    public ColumnChart(string id, string title, string valueHeading, IReadOnlyList<ChartPoint> points, Func<double, string> axisText, bool integral = false)
    {
        Id = id;
        Title = title;
        ValueHeading = valueHeading;
        Points = points;
        AxisText = axisText;
        Scale = ChartScale.For(points.Count == 0 ? 0 : points.Max(p => p.Value), integral: integral);
    }

    public string Id { get; }
    public string Title { get; }

    /// <summary>The heading of the value column in the chart's table.</summary>
    public string ValueHeading { get; }

    public IReadOnlyList<ChartPoint> Points { get; }
    public ChartScale Scale { get; }
    public Func<double, string> AxisText { get; }

    public double PlotWidth => Width - Left - Right;
    public double PlotHeight => Height - Top - Bottom;
    public double Slot => Points.Count == 0 ? PlotWidth : PlotWidth / Points.Count;
    public double BarWidth => Math.Max(1, Slot * 0.8);

    public double X(int index) => Left + index * Slot + (Slot - BarWidth) / 2;
    public double BarHeight(double value) => Scale.Fraction(value) * PlotHeight;
    public double Y(double value) => Top + PlotHeight - BarHeight(value);

    /// <summary>Which bars get a label under the axis: at most <see cref="MaxXLabels"/>, evenly spread.</summary>
    public bool Labelled(int index) => index % Math.Max(1, (int)Math.Ceiling(Points.Count / (double)MaxXLabels)) == 0;

    public bool IsEmpty => Points.All(p => p.Value == 0);

    /// <summary>What a screen reader hears instead of the picture.</summary>
    public string Summary
    {
        get
        {
            if (Points.Count == 0 || IsEmpty)
            {
                return $"{Title}: nothing in this period.";
            }

            var peak = Points.MaxBy(p => p.Value)!;
            return $"{Title}, {Points.Count} bars from {Points[0].Label} to {Points[^1].Label}. Highest: {peak.Text} at {peak.Label}. The table below has every value.";
        }
    }

    public static string Coordinate(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
