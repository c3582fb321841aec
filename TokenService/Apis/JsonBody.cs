using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using LlmGateway.Contracts;

namespace LlmGateway.TokenService.Apis;

/// <summary>
/// A request body read strictly, as a handler parameter: not valid JSON, not an object, an unknown or duplicate field,
/// a missing required field or a value of the wrong type each become a 400 whose message names the field, instead of
/// minimal APIs' bare 400. An empty body reads as an empty object (every request type makes all fields optional
/// and the handler says which it needs).
/// </summary>
public sealed class JsonBody<T> where T : class, new()
{
    /// <summary>Bodies are small control-plane requests; anything larger is a mistake or an attack.</summary>
    public const int MaxBytes = 64 * 1024;

    private JsonBody(T? value, ApiError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }
    public ApiError? Error { get; }

    public bool TryGetValue([NotNullWhen(true)] out T? value, [NotNullWhen(false)] out ApiError? error)
    {
        value = Value;
        error = Error;
        return value is not null;
    }

    public static async ValueTask<JsonBody<T>> BindAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.ContentLength > MaxBytes)
        {
            return new(null, ApiError.TooLarge($"Request body is larger than {MaxBytes} bytes."));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return new(null, ApiError.TooLarge($"Request body is larger than {MaxBytes} bytes."));
            }

            buffer.Write(chunk, 0, read);
        }

        return Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>The whole rule set, without HTTP (unit tests call this).</summary>
    public static JsonBody<T> Parse(ReadOnlySpan<byte> utf8)
    {
        if (IsBlank(utf8))
        {
            return new(new T(), null);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, position {e.BytePositionInLine + 1})" : "";
            return new(null, ApiError.InvalidRequest($"Request body is not valid JSON{where}."));
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return new(null, ApiError.InvalidRequest("Request body must be a JSON object."));
            }

            if (ShapeError(document.RootElement, typeof(T), "") is { } shapeError)
            {
                return new(null, ApiError.InvalidRequest(shapeError));
            }

            try
            {
                var value = document.RootElement.Deserialize<T>(ApiJson.Options);
                return value is null ? new(new T(), null) : new(value, null);
            }
            catch (JsonException e)
            {
                // The shape walk above catches what a client can get wrong; this is the backstop.
                var field = e.Path is { Length: > 2 } path ? path[2..] : "body";
                return new(null, ApiError.InvalidRequest($"Invalid value for '{field}'."));
            }
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> utf8)
    {
        foreach (var b in utf8)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Walks the JSON against the type's contract; returns the first problem as a client-facing message.</summary>
    private static string? ShapeError(JsonElement element, Type type, string path)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (element.ValueKind == JsonValueKind.Null)
        {
            return underlying is not null || !type.IsValueType ? null : $"'{path}' must not be null.";
        }

        type = underlying ?? type;
        var info = ApiJson.Options.GetTypeInfo(type);
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                if (element.ValueKind != JsonValueKind.Object)
                {
                    return $"'{path}' must be an object.";
                }

                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    var name = Join(path, property.Name);
                    if (!seen.Add(property.Name))
                    {
                        return $"Duplicate field '{name}'.";
                    }

                    var contract = info.Properties.FirstOrDefault(p => p.Name == property.Name && p.Set is not null);
                    if (contract is null)
                    {
                        var known = string.Join(", ", info.Properties.Where(p => p.Set is not null).Select(p => p.Name));
                        return $"Unknown field '{name}'. Known fields{(path.Length > 0 ? $" of '{path}'" : "")}: {known}.";
                    }

                    if (ShapeError(property.Value, contract.PropertyType, name) is { } error)
                    {
                        return error;
                    }
                }

                foreach (var required in info.Properties.Where(p => p.IsRequired && !seen.Contains(p.Name)))
                {
                    return $"Missing field '{Join(path, required.Name)}'.";
                }

                return null;

            case JsonTypeInfoKind.Enumerable:
                if (element.ValueKind != JsonValueKind.Array)
                {
                    return $"'{path}' must be {Describe(type)}.";
                }

                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (ShapeError(item, info.ElementType!, $"{path}[{index++}]") is { } error)
                    {
                        return error;
                    }
                }

                return null;

            default:
                return ValueFits(element, type) ? null : $"'{path}' must be {Describe(type)}.";
        }
    }

    private static bool ValueFits(JsonElement element, Type type)
    {
        if (type == typeof(string))
        {
            return element.ValueKind == JsonValueKind.String;
        }

        if (type == typeof(bool))
        {
            return element.ValueKind is JsonValueKind.True or JsonValueKind.False;
        }

        if (type == typeof(int))
        {
            return element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out _);
        }

        if (type == typeof(long))
        {
            return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out _);
        }

        if (type == typeof(decimal))
        {
            return element.ValueKind == JsonValueKind.Number && element.TryGetDecimal(out _);
        }

        if (type == typeof(DateTimeOffset))
        {
            return element.ValueKind == JsonValueKind.String && UtcTimestampConverter.TryParse(element.GetString(), out _);
        }

        if (type.IsEnum)
        {
            return element.ValueKind == JsonValueKind.String && EnumNames(type).Contains(element.GetString());
        }

        // Any other type is parsed by its own converter; the deserializer's error is the backstop.
        return true;
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return "a string";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(int)) return "an integer between -2147483648 and 2147483647";
        if (type == typeof(long)) return "an integer";
        if (type == typeof(decimal)) return "a number";
        if (type == typeof(DateTimeOffset)) return $"an RFC 3339 time with an offset, such as \"{UtcTimestampConverter.Example}\"";
        if (type.IsEnum) return "one of " + string.Join(", ", EnumNames(type).Select(n => $"\"{n}\""));
        if (ApiJson.Options.GetTypeInfo(type) is { Kind: JsonTypeInfoKind.Enumerable, ElementType: { } element }) return $"a list of {Plural(element)}";
        return "an object";
    }

    private static string Plural(Type element) => Describe(element) switch
    {
        "a string" => "strings",
        var other => other,
    };

    private static IReadOnlyList<string> EnumNames(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name)
            .ToArray();

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
