using System.Buffers;
using System.Text.Json;
using LlmGateway.Gateway.Requests;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// A Messages request served by an OpenAI-compatible upstream (OpenAI, vLLM, Ollama, …), as claude-code-router does it:
/// the forwarder sends <see cref="TranslateRequest"/>'s Chat Completions body to <see cref="ChatCompletionsPath"/> and
/// reads the answer through <see cref="TranslateResponseAsync"/>, so what reaches the usage readers and the client is an
/// Anthropic message, event stream or error, exactly as from an Anthropic upstream. Which target serves a request is
/// only known per attempt (a fallback chain may mix kinds), so the translation happens at the forwarder's edge.
/// </summary>
internal static class OpenAiUpstream
{
    public const string ChatCompletionsPath = "/v1/chat/completions";

    /// <summary>Largest non-streamed body read for translation (a chat completion or an error is far smaller).</summary>
    private const int MaxBufferedBytes = 32 * 1024 * 1024;

    /// <summary>The Chat Completions body for a Messages body, or null with what the upstream could not be asked.</summary>
    public static PooledBody? TranslateRequest(PooledBody messages, out string? error)
    {
        var output = new ArrayBufferWriter<byte>(messages.Length + 256);
        error = MessagesRequestTranslator.Translate(messages.Memory, output);
        if (error is not null)
        {
            return null;
        }

        return PooledBody.CopyOf(output.WrittenSpan);
    }

    /// <summary>
    /// The upstream's body as the Anthropic body the client gets: an event stream translated chunk by chunk as it
    /// arrives, a completion or an error read whole and rewritten. A 2xx body that is not a completion passes unchanged
    /// (its usage then reads as unknown and is estimated, like any unreadable answer).
    /// </summary>
    public static async Task<Stream> TranslateResponseAsync(Stream upstream, int status, bool eventStream, string requestId, CancellationToken cancellationToken)
    {
        if (eventStream && status is >= 200 and < 300)
        {
            return new MessagesEventStream(upstream);
        }

        var body = await ReadAllAsync(upstream, cancellationToken);
        var output = new ArrayBufferWriter<byte>(Math.Max(256, body.Length + 256));
        if (status >= 400)
        {
            using var writer = new Utf8JsonWriter(output);
            AnthropicErrors.WriteBody(writer, AnthropicErrors.TypeForStatus(status), ErrorMessage(body, status), requestId);
        }
        else if (!MessagesResponseTranslator.TryTranslate(body, output))
        {
            return new MemoryStream(body, writable: false);
        }

        return new MemoryStream(output.WrittenSpan.ToArray(), writable: false);
    }

    /// <summary>OpenAI's <c>error.message</c> (or a plain-text body), else a sentence naming the status.</summary>
    internal static string ErrorMessage(ReadOnlyMemory<byte> body, int status)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var message)
                    && message.ValueKind == JsonValueKind.String && message.GetString() is { Length: > 0 } text)
                {
                    return text;
                }

                if (error.ValueKind == JsonValueKind.String && error.GetString() is { Length: > 0 } plain)
                {
                    return plain; // vLLM and Ollama answer {"error":"…"}
                }
            }
        }
        catch (JsonException)
        {
            var text = System.Text.Encoding.UTF8.GetString(body.Span[..Math.Min(body.Length, 512)]).Trim();
            if (text.Length > 0 && System.Text.Unicode.Utf8.IsValid(body.Span[..Math.Min(body.Length, 512)]))
            {
                return text;
            }
        }

        return $"The upstream API answered {status}.";
    }

    private static async Task<byte[]> ReadAllAsync(Stream upstream, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var memory = buffer.GetMemory(16 * 1024);
            var read = await upstream.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                return buffer.WrittenSpan.ToArray();
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > MaxBufferedBytes)
            {
                throw new IOException("The upstream response is too large to translate.");
            }
        }
    }

    /// <summary>
    /// Reads OpenAI chat completion chunks from the upstream and yields Anthropic Messages events
    /// (<see cref="MessagesStreamTranslator"/>). Each read returns what one upstream read produced, so events are never
    /// held back waiting for more. An upstream that ends before its finish reason leaves the stream without
    /// <c>message_stop</c>: the forwarder then ends it with an error frame, as for a cut Anthropic stream.
    /// </summary>
    private sealed class MessagesEventStream(Stream upstream) : Stream
    {
        private readonly MessagesStreamTranslator _translator = new();
        private readonly ArrayBufferWriter<byte> _output = new(4096);
        private readonly byte[] _input = new byte[16 * 1024];
        private int _consumed;
        private bool _ended;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_consumed == _output.WrittenCount)
            {
                if (_ended)
                {
                    return 0;
                }

                _output.Clear();
                _consumed = 0;
                var read = await upstream.ReadAsync(_input, cancellationToken);
                if (read == 0)
                {
                    _ended = true;
                    _translator.Complete(_output);
                }
                else
                {
                    _translator.Translate(_input.AsSpan(0, read), _output);
                }
            }

            var count = Math.Min(buffer.Length, _output.WrittenCount - _consumed);
            _output.WrittenSpan.Slice(_consumed, count).CopyTo(buffer.Span);
            _consumed += count;
            return count;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                upstream.Dispose();
            }

            base.Dispose(disposing);
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
