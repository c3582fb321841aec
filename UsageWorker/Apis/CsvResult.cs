using System.Globalization;
using System.Text;
using LlmGateway.UsageWorker.Infrastructure;
using Npgsql;

namespace LlmGateway.UsageWorker.Apis;

/// <summary>
/// Streams an open query as RFC 4180 CSV, row by row, never holding the result in memory. The query runs before the
/// response starts, so a database failure is still a clean 503; a failure after that aborts the connection, so the
/// client never mistakes a cut export for a complete one.
/// </summary>
internal sealed class CsvResult(QueryCursor cursor, string fileName, IReadOnlyList<string> header, Func<NpgsqlDataReader, int, string?> cell) : IResult
{
    private const int FlushEveryRows = 1000;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        await using var _ = cursor;
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/csv; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        var ct = httpContext.RequestAborted;
        try
        {
            await using var writer = new StreamWriter(response.Body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 64 * 1024);
            var line = new StringBuilder(256);
            AppendLine(line, header.Count, i => header[i], isText: _ => false);
            await writer.WriteAsync(line, ct).ConfigureAwait(false);
            var rows = 0;
            var reader = cursor.Reader;
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                line.Clear();
                AppendLine(line, header.Count, i => cell(reader, i), isText: i => i < reader.FieldCount && reader.GetFieldType(i) == typeof(string));
                await writer.WriteAsync(line, ct).ConfigureAwait(false);
                if (++rows % FlushEveryRows == 0)
                {
                    await writer.FlushAsync(ct).ConfigureAwait(false);
                }
            }

            await writer.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or OperationCanceledException)
        {
            httpContext.Abort();
        }
    }

    private static void AppendLine(StringBuilder line, int count, Func<int, string?> value, Func<int, bool> isText)
    {
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                line.Append(',');
            }

            AppendField(line, value(i), isText(i));
        }

        line.Append("\r\n");
    }

    /// <summary>
    /// Quotes when needed. Text that a spreadsheet would run as a formula (leading <c>= + - @</c>, tab or CR) is
    /// prefixed with <c>'</c>: names such as agent names come from callers.
    /// </summary>
    internal static void AppendField(StringBuilder line, string? value, bool isText)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        if (isText && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            line.Append(value);
            return;
        }

        line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }

    /// <summary>Invariant text of a column: numbers as digits, times as ISO 8601 UTC, booleans as true/false.</summary>
    internal static string? Cell(NpgsqlDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
        {
            return null;
        }

        return reader.GetFieldType(ordinal) switch
        {
            var t when t == typeof(DateTime) => reader.GetFieldValue<DateTimeOffset>(ordinal).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            var t when t == typeof(bool) => reader.GetBoolean(ordinal) ? "true" : "false",
            _ => Convert.ToString(reader.GetValue(ordinal), CultureInfo.InvariantCulture),
        };
    }
}
