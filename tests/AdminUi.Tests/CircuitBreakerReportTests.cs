using System.Text.Json;
using LlmGateway.AdminUi.Model;

namespace LlmGateway.AdminUi.Tests;

/// <summary>
/// The Upstreams page reads <c>GET /admin/circuit-breaker</c> (being built on the gateway) by its agreed contract,
/// a list of <c>{name, state, failures, openedAt, nextProbe}</c>; these pin that reading until the route lands and the
/// end-to-end test sees real breakers.
/// </summary>
public sealed class CircuitBreakerReportTests
{
    [Theory]
    [InlineData("""[{"name":"anthropic","state":"open","failures":5,"openedAt":"2026-12-05T08:00:00Z","nextProbe":"2026-12-05T08:00:30Z"},{"name":"openai","state":"closed","failures":0,"openedAt":null,"nextProbe":null}]""")]
    [InlineData("""{"data":[{"name":"anthropic","state":"open","failures":5,"opened_at":"2026-12-05T08:00:00Z","next_probe":"2026-12-05T08:00:30Z"},{"name":"openai","state":"closed","failures":0}]}""")]
    public void The_breaker_report_is_read_as_a_bare_list_or_under_data_in_either_naming(string json)
    {
        using var body = JsonDocument.Parse(json);
        var breakers = CircuitBreakerState.ListFrom(body.RootElement);

        Assert.NotNull(breakers);
        Assert.Equal(2, breakers.Count);
        var open = breakers[0];
        Assert.Equal(("anthropic", "open", 5L), (open.Name, open.State, open.Failures!.Value));
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero), open.OpenedAt);
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 8, 0, 30, TimeSpan.Zero), open.NextProbe);
        Assert.Equal(("openai", "closed", (DateTimeOffset?)null), (breakers[1].Name, breakers[1].State, breakers[1].OpenedAt));
    }

    [Fact]
    public void A_report_of_another_shape_is_not_taken_for_an_empty_list()
    {
        using var body = JsonDocument.Parse("""{"status":"ok"}""");
        Assert.Null(CircuitBreakerState.ListFrom(body.RootElement));
    }
}
