using System.Globalization;
using System.Text.Json;

namespace LlmGateway.AdminUi.Model;

/// <summary>
/// One upstream's breaker as <c>GET /admin/circuit-breaker</c> on the gateway reports it: <c>{name, state, failures,
/// openedAt, nextProbe}</c>. The route is new: it is read leniently (a bare list or one under <c>data</c>/<c>breakers</c>,
/// camelCase or snake_case names), so the page works with whichever the gateway settles on.
/// </summary>
public sealed record CircuitBreakerState(string Name, string State, long? Failures, DateTimeOffset? OpenedAt, DateTimeOffset? NextProbe)
{
    public static IReadOnlyList<CircuitBreakerState>? ListFrom(JsonElement body)
    {
        var list = body.ValueKind == JsonValueKind.Array ? body
            : body.ValueKind == JsonValueKind.Object && (Property(body, "data") ?? Property(body, "breakers") ?? Property(body, "upstreams")) is { ValueKind: JsonValueKind.Array } inner ? inner
            : (JsonElement?)null;
        return list?.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).Select(From).ToList();
    }

    private static CircuitBreakerState From(JsonElement e) => new(
        Text(e, "name") ?? Text(e, "upstream") ?? "(unnamed)",
        Text(e, "state") ?? "unknown",
        Property(e, "failures") is { ValueKind: JsonValueKind.Number } f && f.TryGetInt64(out var n) ? n : null,
        Time(e, "openedAt", "opened_at"),
        Time(e, "nextProbe", "next_probe"));

    private static JsonElement? Property(JsonElement e, string name) => e.TryGetProperty(name, out var value) ? value : null;

    private static string? Text(JsonElement e, string name) =>
        Property(e, name) is { } v ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ValueKind is JsonValueKind.Null ? null : v.GetRawText() : null;

    private static DateTimeOffset? Time(JsonElement e, params string[] names) =>
        names.Select(n => Text(e, n)).FirstOrDefault(t => t is not null) is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
}
