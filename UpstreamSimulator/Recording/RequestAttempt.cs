using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Recording;

/// <summary>
/// What the simulator saw and sent for one attempt of a tagged request: selected request headers (credentials only
/// as hashes), the request body, the exact response bytes, and how the exchange ended.
/// Written by the request's handler, read by <c>/sim/requests</c> queries; guarded by a lock.
/// </summary>
internal sealed class RequestAttempt
{
    private static readonly HashSet<string> SecretHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "x-api-key", "authorization", "proxy-authorization", "cookie",
    };

    private readonly Lock sync = new();
    private readonly int maxBodyBytes;
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly KeyValuePair<string, string>[] headers;
    private byte[] requestBody = [];
    private bool requestBodyTruncated;
    private readonly ArrayBufferWriter<byte> responseBody = new(1024);
    private long responseBytes;
    private bool responseBodyTruncated;
    private int events;
    private int status;
    private bool aborted;
    private bool cut;
    private bool completed;

    public RequestAttempt(string tag, int number, string requestId, HttpRequest request, int maxBodyBytes)
    {
        Tag = tag;
        Number = number;
        RequestId = requestId;
        Method = request.Method;
        Path = request.Path.Value + request.QueryString.Value;
        this.maxBodyBytes = maxBodyBytes;
        var list = new List<KeyValuePair<string, string>>(request.Headers.Count);
        foreach (var header in request.Headers)
        {
            var name = header.Key.ToLowerInvariant();
            var value = header.Value.ToString();
            list.Add(new(name, SecretHeaders.Contains(name) ? Conceal(value) : value));
        }

        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        headers = [.. list];
    }

    public string Tag { get; }

    /// <summary>1 for the first request with this tag, 2 for the second, …</summary>
    public int Number { get; }

    public string RequestId { get; }

    public string Method { get; }

    public string Path { get; }

    public Task Finished => finished.Task;

    /// <summary>SHA-256 (lowercase hex) of a credential; a Bearer scheme stays readable.</summary>
    public static string Conceal(string value)
    {
        const string bearer = "Bearer ";
        return value.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)
            ? bearer + "sha256:" + Hash(value[bearer.Length..])
            : "sha256:" + Hash(value);
    }

    public static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    public void SetRequestBody(in ReadOnlySequence<byte> body)
    {
        var kept = body.Length > maxBodyBytes ? body.Slice(0, maxBodyBytes) : body;
        var copy = kept.ToArray();
        lock (sync)
        {
            requestBody = copy;
            requestBodyTruncated = kept.Length < body.Length;
        }
    }

    public void AppendResponse(ReadOnlySpan<byte> bytes, bool isEvent)
    {
        lock (sync)
        {
            responseBytes += bytes.Length;
            if (isEvent)
            {
                events++;
            }

            var room = maxBodyBytes - responseBody.WrittenCount;
            if (room < bytes.Length)
            {
                responseBodyTruncated = true;
                bytes = bytes[..Math.Max(0, room)];
            }

            responseBody.Write(bytes);
        }
    }

    public void MarkCut()
    {
        lock (sync)
        {
            cut = true;
        }
    }

    public void Finish(int statusCode, bool completedNormally, bool clientAborted)
    {
        lock (sync)
        {
            status = statusCode;
            completed = completedNormally;
            aborted = clientAborted && !cut;
        }

        finished.TrySetResult();
    }

    public byte[] RequestBody()
    {
        lock (sync)
        {
            return requestBody;
        }
    }

    public byte[] ResponseBody()
    {
        lock (sync)
        {
            return responseBody.WrittenSpan.ToArray();
        }
    }

    public void WriteTo(Utf8JsonWriter writer)
    {
        lock (sync)
        {
            var isFinished = finished.Task.IsCompleted;
            writer.WriteNumber("attempt"u8, Number);
            writer.WriteString("requestId"u8, RequestId);
            writer.WriteString("method"u8, Method);
            writer.WriteString("path"u8, Path);
            writer.WriteBoolean("finished"u8, isFinished);
            if (isFinished)
            {
                writer.WriteNumber("status"u8, status);
            }
            else
            {
                writer.WriteNull("status"u8);
            }

            writer.WriteBoolean("completed"u8, completed);
            writer.WriteBoolean("aborted"u8, aborted);
            writer.WriteBoolean("cut"u8, cut);
            writer.WriteNumber("events"u8, events);
            writer.WriteNumber("responseBytes"u8, responseBytes);
            writer.WriteBoolean("responseBodyTruncated"u8, responseBodyTruncated);
            writer.WriteNumber("requestBytes"u8, requestBody.Length);
            writer.WriteBoolean("requestBodyTruncated"u8, requestBodyTruncated);
            writer.WriteStartObject("headers"u8);
            foreach (var (name, value) in headers)
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
        }
    }
}
