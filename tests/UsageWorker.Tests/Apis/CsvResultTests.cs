using System.Text;
using LlmGateway.UsageWorker.Apis;

namespace LlmGateway.UsageWorker.Tests.Apis;

public sealed class CsvResultTests
{
    [Theory]
    [InlineData("plain", true, "plain")]
    [InlineData(null, true, "")]
    [InlineData("a,b", true, "\"a,b\"")]
    [InlineData("say \"hi\"", true, "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", true, "\"two\nlines\"")]
    [InlineData("=HYPERLINK(\"x\")", true, "\"'=HYPERLINK(\"\"x\"\")\"")]
    [InlineData("@agent", true, "'@agent")]
    [InlineData("-12", false, "-12")]
    public void Fields_are_quoted_as_RFC_4180_and_formulas_neutralized(string? value, bool isText, string expected)
    {
        var line = new StringBuilder();
        CsvResult.AppendField(line, value, isText);
        Assert.Equal(expected, line.ToString());
    }
}
