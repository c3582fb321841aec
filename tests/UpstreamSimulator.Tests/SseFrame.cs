using System.Text;
using System.Text.Json;

namespace LlmGateway.UpstreamSimulator.Tests;

/// <summary>One SSE frame as sent on the wire: its <c>event:</c> line (null when absent) and its <c>data:</c> line.</summary>
public sealed record SseFrame(string? Event, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;

    /// <summary>Splits a raw SSE body into frames; every frame must end with a blank line.</summary>
    public static List<SseFrame> Parse(string body)
    {
        Assert.EndsWith("\n\n", body);
        var frames = new List<SseFrame>();
        foreach (var block in body[..^2].Split("\n\n"))
        {
            string? name = null;
            string? data = null;
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    Assert.Null(name);
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    Assert.Null(data);
                    data = line["data: ".Length..];
                }
                else
                {
                    Assert.Fail($"Unexpected SSE line: '{line}'");
                }
            }

            Assert.NotNull(data);
            frames.Add(new SseFrame(name, data));
        }

        return frames;
    }
}

/// <summary>Reads raw SSE frames one at a time from a response stream, decoding UTF-8 across reads.</summary>
public sealed class SseStreamReader(Stream stream)
{
    private readonly Decoder decoder = Encoding.UTF8.GetDecoder();
    private readonly StringBuilder pending = new();
    private readonly byte[] bytes = new byte[4096];
    private readonly char[] chars = new char[4096];

    /// <summary>The next frame including its blank line, or null at a clean end of the body.</summary>
    public async Task<string?> ReadFrameAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var text = pending.ToString();
            var end = text.IndexOf("\n\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                pending.Remove(0, end + 2);
                return text[..(end + 2)];
            }

            var read = await stream.ReadAsync(bytes, cancellationToken);
            if (read == 0)
            {
                Assert.Equal(0, pending.Length);
                return null;
            }

            var count = decoder.GetChars(bytes, 0, read, chars, 0);
            pending.Append(chars, 0, count);
        }
    }
}
