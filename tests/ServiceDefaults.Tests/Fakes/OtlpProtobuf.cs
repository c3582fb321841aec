using System.Text;

namespace LlmGateway.ServiceDefaults.Tests.Fakes;

/// <summary>
/// Just enough protobuf wire-format reading to check OTLP export requests (OpenTelemetry.Proto does not restore).
/// Field numbers are those of opentelemetry/proto (collector/*/v1, trace/v1, logs/v1, metrics/v1, common/v1).
/// </summary>
public static class OtlpProtobuf
{
    public sealed record Span(
        IReadOnlyDictionary<string, string> Resource, string Scope, string TraceId, string Name, IReadOnlyDictionary<string, string> Attributes);

    public sealed record LogRecord(IReadOnlyDictionary<string, string> Resource, string Scope, string Body, string TraceId);

    public sealed record Metric(IReadOnlyDictionary<string, string> Resource, string Scope, string Name);

    public static IEnumerable<Span> Spans(byte[] exportTraceServiceRequest)
    {
        foreach (var resourceSpans in Messages(exportTraceServiceRequest, 1))
        {
            var resource = ResourceOf(resourceSpans);
            foreach (var scopeSpans in Messages(resourceSpans, 2))
            {
                var scope = ScopeOf(scopeSpans);
                foreach (var span in Messages(scopeSpans, 2))
                {
                    yield return new Span(resource, scope, Hex(Bytes(span, 1)), Text(span, 5), Attributes(span, 9));
                }
            }
        }
    }

    public static IEnumerable<LogRecord> Logs(byte[] exportLogsServiceRequest)
    {
        foreach (var resourceLogs in Messages(exportLogsServiceRequest, 1))
        {
            var resource = ResourceOf(resourceLogs);
            foreach (var scopeLogs in Messages(resourceLogs, 2))
            {
                var scope = ScopeOf(scopeLogs);
                foreach (var record in Messages(scopeLogs, 2))
                {
                    var body = Messages(record, 5).Select(AnyValueText).FirstOrDefault() ?? "";
                    yield return new LogRecord(resource, scope, body, Hex(Bytes(record, 9)));
                }
            }
        }
    }

    public static IEnumerable<Metric> Metrics(byte[] exportMetricsServiceRequest)
    {
        foreach (var resourceMetrics in Messages(exportMetricsServiceRequest, 1))
        {
            var resource = ResourceOf(resourceMetrics);
            foreach (var scopeMetrics in Messages(resourceMetrics, 2))
            {
                var scope = ScopeOf(scopeMetrics);
                foreach (var metric in Messages(scopeMetrics, 2))
                {
                    yield return new Metric(resource, scope, Text(metric, 1));
                }
            }
        }
    }

    private static IReadOnlyDictionary<string, string> ResourceOf(byte[] parent) =>
        Messages(parent, 1).Select(resource => Attributes(resource, 1)).FirstOrDefault() ?? new Dictionary<string, string>();

    private static string ScopeOf(byte[] parent) => Messages(parent, 1).Select(scope => Text(scope, 1)).FirstOrDefault() ?? "";

    private static Dictionary<string, string> Attributes(byte[] message, int field)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var keyValue in Messages(message, field))
        {
            attributes[Text(keyValue, 1)] = Messages(keyValue, 2).Select(AnyValueText).FirstOrDefault() ?? "";
        }

        return attributes;
    }

    /// <summary>AnyValue: string_value = 1, bool_value = 2, int_value = 3, double_value = 4.</summary>
    private static string AnyValueText(byte[] anyValue)
    {
        foreach (var (number, wireType, bytes, value) in Fields(anyValue))
        {
            switch (number, wireType)
            {
                case (1, 2):
                    return Encoding.UTF8.GetString(bytes);
                case (2, 0):
                    return value != 0 ? "true" : "false";
                case (3, 0):
                    return ((long)value).ToString(System.Globalization.CultureInfo.InvariantCulture);
                case (4, 1):
                    return BitConverter.Int64BitsToDouble((long)value).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return "";
    }

    private static IEnumerable<byte[]> Messages(byte[] message, int field) =>
        Fields(message).Where(f => f.Number == field && f.WireType == 2).Select(f => f.Bytes);

    private static byte[] Bytes(byte[] message, int field) => Messages(message, field).FirstOrDefault() ?? [];

    private static string Text(byte[] message, int field) => Encoding.UTF8.GetString(Bytes(message, field));

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private static List<(int Number, int WireType, byte[] Bytes, ulong Value)> Fields(byte[] message)
    {
        var fields = new List<(int, int, byte[], ulong)>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message, ref position);
            var number = (int)(tag >> 3);
            var wireType = (int)(tag & 7);
            switch (wireType)
            {
                case 0:
                    fields.Add((number, wireType, [], ReadVarint(message, ref position)));
                    break;
                case 1:
                    fields.Add((number, wireType, [], BitConverter.ToUInt64(message, position)));
                    position += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref position);
                    fields.Add((number, wireType, message[position..(position + length)], 0));
                    position += length;
                    break;
                case 5:
                    fields.Add((number, wireType, [], BitConverter.ToUInt32(message, position)));
                    position += 4;
                    break;
                default:
                    throw new FormatException($"Unsupported protobuf wire type {wireType} at {position}.");
            }
        }

        return fields;
    }

    private static ulong ReadVarint(byte[] buffer, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = buffer[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
    }
}
