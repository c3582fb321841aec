using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmGateway.Contracts;

/// <summary>
/// Times on the wire: written as RFC 3339 in UTC (<c>2026-02-25T13:00:00Z</c>, fraction only when there is one); read only
/// with an explicit offset or <c>Z</c>, because a time without one is ambiguous.
/// </summary>
public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    public const string Example = "2026-01-31T12:00:00Z";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return TryParse(text, out var value)
            ? value
            : throw new JsonException($"expected an RFC 3339 time with an offset, such as \"{Example}\"");
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Format(value));

    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        if (text is null || text.Length < 20 || text.IndexOf('T', StringComparison.OrdinalIgnoreCase) != 10)
        {
            return false;
        }

        var hasOffset = text.EndsWith('Z') || text.EndsWith('z') || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':');
        return hasOffset && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out value);
    }
}
