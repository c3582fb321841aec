using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.ObjectPool;

namespace LlmGateway.UpstreamSimulator.Streaming;

internal static class JsonOutput
{
    /// <summary>Compact JSON with non-ASCII text left as UTF-8, as the providers send it.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

/// <summary>
/// A reusable buffer plus JSON writer for one response: every body or SSE frame is composed here, then copied to
/// the response pipe (and to the recording of a tagged request). Pooled, so a request allocates neither.
/// </summary>
internal sealed class ResponseBuffer
{
    private const int MaxPooledCapacity = 256 * 1024;

    public ResponseBuffer()
    {
        Json = new Utf8JsonWriter(Bytes, JsonOutput.WriterOptions);
    }

    public ArrayBufferWriter<byte> Bytes { get; } = new(4096);

    public Utf8JsonWriter Json { get; }

    /// <summary>Empties the buffer, writes <paramref name="prefix"/> and returns the JSON writer positioned after it.</summary>
    public Utf8JsonWriter Start(ReadOnlySpan<byte> prefix)
    {
        Bytes.ResetWrittenCount();
        Bytes.Write(prefix);
        Json.Reset(Bytes);
        return Json;
    }

    public Utf8JsonWriter Start(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> name, ReadOnlySpan<byte> separator)
    {
        Bytes.ResetWrittenCount();
        Bytes.Write(prefix);
        Bytes.Write(name);
        Bytes.Write(separator);
        Json.Reset(Bytes);
        return Json;
    }

    /// <summary>Flushes the JSON writer into the buffer and appends <paramref name="suffix"/>.</summary>
    public ReadOnlyMemory<byte> Finish(ReadOnlySpan<byte> suffix)
    {
        Json.Flush();
        Bytes.Write(suffix);
        return Bytes.WrittenMemory;
    }

    internal sealed class Policy : PooledObjectPolicy<ResponseBuffer>
    {
        public override ResponseBuffer Create() => new();

        public override bool Return(ResponseBuffer obj)
        {
            if (obj.Bytes.Capacity > MaxPooledCapacity)
            {
                return false;
            }

            obj.Json.Reset(obj.Bytes);
            obj.Bytes.ResetWrittenCount();
            return true;
        }
    }
}
