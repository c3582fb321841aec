namespace LlmGateway.AdminUi.Charts;

/// <summary>
/// A ranking (one horizontal bar per group, largest first), drawn as SVG on the server by
/// <c>Pages/Shared/_RankingChart.cshtml</c>.
/// </summary>
public sealed class RankingChart
{
    public const double Width = 720;
    public const double LabelWidth = 250;
    public const double ValueWidth = 110;
    public const double RowHeight = 26;
    public const double BarHeight = 16;

    public RankingChart(string id, string title, IReadOnlyList<ChartPoint> points)
    {
        Id = id;
        Title = title;
        Points = points;
        Scale = ChartScale.For(points.Count == 0 ? 0 : points.Max(p => p.Value));
    }

    public string Id { get; }
    public string Title { get; }
    public IReadOnlyList<ChartPoint> Points { get; }
    public ChartScale Scale { get; }

    public double Height => Math.Max(1, Points.Count) * RowHeight + 4;
    public double BarSpace => Width - LabelWidth - ValueWidth;
    public double RowY(int index) => index * RowHeight + 2;
    public double BarLength(double value) => Math.Max(value > 0 ? 1 : 0, Scale.Fraction(value) * BarSpace);

    /// <summary>Long labels are cut in the picture (the table has them whole).</summary>
    public static string Short(string label) => label.Length <= 34 ? label : label[..33] + "…";

    public string Summary => Points.Count == 0
        ? $"{Title}: nothing in this period."
        : $"{Title}: {Points.Count} groups; first {Points[0].Label} with {Points[0].Text}. The table below has every value.";
}
