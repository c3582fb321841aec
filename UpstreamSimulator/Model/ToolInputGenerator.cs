using System.Buffers;
using System.Text;
using System.Text.Json;
using LlmGateway.UpstreamSimulator.Streaming;

namespace LlmGateway.UpstreamSimulator.Model;

/// <summary>
/// Builds a deterministic tool input that satisfies the tool's JSON Schema: <c>const</c>, then the first
/// <c>enum</c> value, then <c>default</c>, else a value of the declared type (string <c>"sim-&lt;property&gt;"</c>,
/// integer/number <c>minimum</c> or 1, boolean true, array with one item when <c>minItems</c> ≥ 1). Objects get
/// their <c>required</c> properties, or all properties when nothing is required.
/// </summary>
internal static class ToolInputGenerator
{
    private const int MaxDepth = 8;

    public static string Generate(JsonElement schema)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, JsonOutput.WriterOptions))
        {
            WriteObject(writer, schema, 0);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonElement schema, string? propertyName, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > MaxDepth)
        {
            writer.WriteStringValue(StringFor(propertyName));
            return;
        }

        if (schema.TryGetProperty("const"u8, out var constant))
        {
            constant.WriteTo(writer);
            return;
        }

        if (schema.TryGetProperty("enum"u8, out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            values[0].WriteTo(writer);
            return;
        }

        if (schema.TryGetProperty("default"u8, out var defaultValue))
        {
            defaultValue.WriteTo(writer);
            return;
        }

        foreach (var combinator in (ReadOnlySpan<string>)["anyOf", "oneOf", "allOf"])
        {
            if (schema.TryGetProperty(combinator, out var options) && options.ValueKind == JsonValueKind.Array && options.GetArrayLength() > 0)
            {
                WriteValue(writer, options[0], propertyName, depth + 1);
                return;
            }
        }

        switch (TypeOf(schema))
        {
            case "object":
                WriteObject(writer, schema, depth);
                break;
            case "array":
                writer.WriteStartArray();
                if (schema.TryGetProperty("minItems"u8, out var minItems) && minItems.TryGetInt32(out var min) && min >= 1)
                {
                    schema.TryGetProperty("items"u8, out var items);
                    for (var i = 0; i < Math.Min(min, 16); i++)
                    {
                        WriteValue(writer, items, propertyName, depth + 1);
                    }
                }

                writer.WriteEndArray();
                break;
            case "integer":
                writer.WriteNumberValue(schema.TryGetProperty("minimum"u8, out var intMin) && intMin.TryGetInt64(out var lowest) ? lowest : 1);
                break;
            case "number":
                writer.WriteNumberValue(schema.TryGetProperty("minimum"u8, out var numMin) && numMin.TryGetDouble(out var least) ? least : 1);
                break;
            case "boolean":
                writer.WriteBooleanValue(true);
                break;
            case "null":
                writer.WriteNullValue();
                break;
            default:
                writer.WriteStringValue(StringFor(propertyName));
                break;
        }
    }

    private static void WriteObject(Utf8JsonWriter writer, JsonElement schema, int depth)
    {
        writer.WriteStartObject();
        if (schema.ValueKind == JsonValueKind.Object
            && schema.TryGetProperty("properties"u8, out var properties)
            && properties.ValueKind == JsonValueKind.Object)
        {
            var hasRequired = schema.TryGetProperty("required"u8, out var required) && required.ValueKind == JsonValueKind.Array;
            foreach (var property in properties.EnumerateObject())
            {
                if (hasRequired && !Contains(required, property.Name))
                {
                    continue;
                }

                writer.WritePropertyName(property.Name);
                WriteValue(writer, property.Value, property.Name, depth + 1);
            }
        }

        writer.WriteEndObject();
    }

    private static string TypeOf(JsonElement schema)
    {
        if (schema.TryGetProperty("type"u8, out var type))
        {
            if (type.ValueKind == JsonValueKind.String)
            {
                return type.GetString()!;
            }

            if (type.ValueKind == JsonValueKind.Array)
            {
                foreach (var candidate in type.EnumerateArray())
                {
                    if (candidate.ValueKind == JsonValueKind.String && !candidate.ValueEquals("null"u8))
                    {
                        return candidate.GetString()!;
                    }
                }
            }
        }

        return schema.TryGetProperty("properties"u8, out _) ? "object"
            : schema.TryGetProperty("items"u8, out _) ? "array"
            : "string";
    }

    private static bool Contains(JsonElement array, string name)
    {
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && item.ValueEquals(name))
            {
                return true;
            }
        }

        return false;
    }

    private static string StringFor(string? propertyName) => propertyName is null ? "sim" : "sim-" + propertyName;
}
