using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace LlmGateway.Gateway.Translation;

/// <summary>
/// The response body of a request made in OpenAI's format: it stands in for the server's
/// <see cref="IHttpResponseBodyFeature"/>, so everything the gateway writes for that request — the upstream's
/// (Anthropic) answer as the forwarder copies it, and every error the gateway produces itself, wherever it comes from
/// (authentication, limits, budget, forwarding failures, the <c>event: error</c> frame after a cut stream) — leaves in
/// OpenAI's format. The forwarder, the usage readers and the pipeline stay format-agnostic: they see and meter the
/// Anthropic bytes before they get here.
/// </summary>
/// <remarks>
/// What happens to the bytes is decided when the first byte is written (or the response started) from the status and
/// content type: an error status (≥ 400) → the body is gathered and rewritten as <c>{"error":{…}}</c>; a 2xx event
/// stream of a translated completion → translated event by event and flushed at once; a 2xx JSON completion →
/// gathered and rewritten as a <c>chat.completion</c> at <see cref="CompleteAsync"/>; anything else passes unchanged.
/// </remarks>
internal sealed class OpenAiResponseBody : Stream, IHttpResponseBodyFeature
{
    /// <summary>Largest body gathered for rewriting (an Anthropic message or error is far smaller).</summary>
    private const int MaxGatheredBytes = 32 * 1024 * 1024;

    private readonly HttpContext _context;
    private readonly IHttpResponseBodyFeature _inner;
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private ArrayBufferWriter<byte>? _gathered;
    private ChatCompletionsStreamTranslator? _stream;
    private PipeWriter? _writer;
    private Mode _mode;
    private bool _completed;

    private OpenAiResponseBody(HttpContext context, IHttpResponseBodyFeature inner)
    {
        _context = context;
        _inner = inner;
    }

    /// <summary>Set once the request was translated: the response is then a chat completion, not just errors.</summary>
    public ChatCompletionsRequest? Completion { get; set; }

    /// <summary>The parameter a refused request named (OpenAI's <c>param</c>), and its <c>code</c>.</summary>
    public TranslationError? RequestError { get; set; }

    /// <summary>Puts the OpenAI body in front of the server's for this request.</summary>
    public static OpenAiResponseBody Install(HttpContext context)
    {
        var body = new OpenAiResponseBody(context, context.Features.GetRequiredFeature<IHttpResponseBodyFeature>());
        context.Features.Set<IHttpResponseBodyFeature>(body);
        context.Features.Set(body);
        return body;
    }

    public Stream Stream => this;

    public PipeWriter Writer => _writer ??= PipeWriter.Create(this, new StreamPipeWriterOptions(leaveOpen: true));

    public void DisableBuffering() => _inner.DisableBuffering();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Decide();
        await _inner.StartAsync(cancellationToken);
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        SendFileFallback.SendFileAsync(this, path, offset, count, cancellationToken);

    /// <summary>
    /// Writes what was gathered (a rewritten error or completion) and puts the server's body back. Called once the
    /// request's handler is done; a client already gone is not an error here.
    /// </summary>
    public async Task CompleteAsync()
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        if (_writer is not null)
        {
            await _writer.FlushAsync();
        }

        _context.Features.Set(_inner);
        try
        {
            if (_mode is Mode.Error or Mode.Completion && _gathered is not null)
            {
                Rewrite();
                var response = _context.Response;
                if (!response.HasStarted)
                {
                    response.ContentLength = _output.WrittenCount;
                }

                await _inner.Stream.WriteAsync(_output.WrittenMemory, _context.RequestAborted);
                _output.Clear();
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away (or the connection was aborted after a cut body): nothing left to tell it.
        }
    }

    private void Rewrite()
    {
        var response = _context.Response;
        var gathered = _gathered!.WrittenMemory;
        using var writer = new Utf8JsonWriter(_output);
        if (_mode == Mode.Completion)
        {
            if (ChatCompletionsResponseTranslator.TryTranslate(gathered, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), _output))
            {
                return;
            }

            // A 2xx body that is not a message (nothing a client could use): said so, in the caller's format.
            _output.Clear();
            if (!response.HasStarted)
            {
                response.StatusCode = StatusCodes.Status502BadGateway;
            }

            OpenAiErrors.WriteBody(writer, "The upstream API returned a response that is not a message.", "server_error", null, null);
            return;
        }

        OpenAiErrors.Translate(gathered.Span, response.StatusCode, RequestError?.Param, RequestError?.Code, writer);
    }

    private void Decide()
    {
        if (_mode != Mode.Undecided)
        {
            return;
        }

        var response = _context.Response;
        var status = response.StatusCode;
        var mediaType = response.ContentType is { } contentType ? contentType.Split(';')[0].Trim() : "";
        if (status >= 400)
        {
            _mode = Mode.Error;
            response.ContentType = "application/json";
        }
        else if (Completion is { } completion && status is >= 200 and < 300
                 && string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            _mode = Mode.Stream;
            _stream = new ChatCompletionsStreamTranslator(completion.IncludeUsage, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        }
        else if (Completion is not null && status is >= 200 and < 300
                 && string.Equals(mediaType, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            _mode = Mode.Completion;
        }
        else
        {
            _mode = Mode.PassThrough;
            return;
        }

        // The body changes length; OpenAI's SDKs read the request id from x-request-id.
        response.ContentLength = null;
        if (response.Headers.TryGetValue("request-id", out var requestId))
        {
            response.Headers["x-request-id"] = requestId;
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Decide();
        switch (_mode)
        {
            case Mode.PassThrough:
                await _inner.Stream.WriteAsync(buffer, cancellationToken);
                break;
            case Mode.Stream:
                _stream!.Translate(buffer.Span, _output);
                if (_output.WrittenCount > 0)
                {
                    await _inner.Stream.WriteAsync(_output.WrittenMemory, cancellationToken);
                    _output.Clear();
                }

                break;
            default:
                _gathered ??= new ArrayBufferWriter<byte>(Math.Max(256, buffer.Length));
                if (_gathered.WrittenCount + buffer.Length > MaxGatheredBytes)
                {
                    throw new IOException("The response is too large to translate.");
                }

                _gathered.Write(buffer.Span);
                break;
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _mode is Mode.PassThrough or Mode.Stream ? _inner.Stream.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private enum Mode
    {
        Undecided,
        PassThrough,
        Error,
        Completion,
        Stream,
    }
}
