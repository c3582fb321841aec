using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text.Json;
using LlmGateway.UpstreamSimulator.Model;
using LlmGateway.UpstreamSimulator.Recording;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace LlmGateway.UpstreamSimulator.Streaming;

/// <summary>Which provider a route imitates: decides the error shape, the request-id header and authentication.</summary>
internal enum ApiFlavor
{
    Anthropic,
    OpenAi,
}

/// <summary>
/// One request/response exchange: applies the control headers (latency, forced status, TTFT, event delays, gates,
/// cuts, in-stream errors), authenticates, reads the JSON body, writes JSON bodies and SSE frames through a pooled
/// buffer, and records the exchange when the request is tagged. Every route handler runs inside <see cref="RunAsync"/>.
/// </summary>
internal sealed class SimExchange
{
    private static readonly StringValues EventStreamContentType = "text/event-stream; charset=utf-8";
    private static readonly StringValues JsonContentType = "application/json";
    private static readonly StringValues NoCache = "no-cache";
    private static readonly TimeSpan CutDrainTimeout = TimeSpan.FromSeconds(5);

    private readonly SimulatorState state;
    private readonly string? controlsError;
    private ResponseBuffer? buffer;
    private StreamGates.Gate? gate;
    private JsonDocument? document;
    private ReadResult bodyRead;
    private bool bodyHeld;
    private int eventsSent;
    private long nextEventDue;
    private bool contentStarted;

    private SimExchange(HttpContext context, SimulatorState state, ApiFlavor flavor)
    {
        this.state = state;
        Context = context;
        Flavor = flavor;
        RequestId = IdGenerator.RequestId();
        var headers = context.Response.Headers;
        if (flavor == ApiFlavor.Anthropic)
        {
            headers["request-id"] = RequestId;
            if (!string.IsNullOrEmpty(state.Options.OrganizationId))
            {
                headers["anthropic-organization-id"] = state.Options.OrganizationId;
            }
        }
        else
        {
            headers["x-request-id"] = RequestId;
        }

        if (SimulationControls.TryParse(context.Request.Headers, out var controls, out controlsError))
        {
            Controls = controls;
            if (controls.Tag is not null)
            {
                Attempt = state.Requests.BeginAttempt(controls.Tag, RequestId, context.Request, state.Options.MaxRecordedBodyBytes);
            }
        }
    }

    public HttpContext Context { get; }

    public ApiFlavor Flavor { get; }

    public string RequestId { get; }

    public SimulationControls Controls { get; }

    public RequestAttempt? Attempt { get; }

    public SimulatorOptions Options => state.Options;

    public ModelCatalog Models => state.Models;

    private CancellationToken Aborted => Context.RequestAborted;

    private ResponseBuffer Buffer => buffer ??= state.Buffers.Get();

    /// <summary>Runs a route handler with the exchange's bookkeeping around it.</summary>
    public static async Task RunAsync(HttpContext context, SimulatorState state, ApiFlavor flavor, Func<SimExchange, Task> handler)
    {
        var exchange = new SimExchange(context, state, flavor);
        var completed = false;
        try
        {
            await handler(exchange);
            completed = !context.RequestAborted.IsCancellationRequested;
        }
        catch (StreamInterruptedException)
        {
            // A simulated cut or in-stream error: already written and recorded.
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            SimulatorLog.ClientAborted(state.Logger, exchange.RequestId, exchange.eventsSent);
        }
        catch (Exception ex)
        {
            SimulatorLog.UnhandledError(state.Logger, ex, context.Request.Method, context.Request.Path.Value ?? "");
            await exchange.FailAsync();
        }
        finally
        {
            exchange.ReleaseBody();
            if (exchange.gate is not null)
            {
                state.Gates.Remove(exchange.Controls.Gate!, exchange.gate);
            }

            if (exchange.buffer is not null)
            {
                state.Buffers.Return(exchange.buffer);
            }

            exchange.Attempt?.Finish(context.Response.StatusCode, completed, context.RequestAborted.IsCancellationRequested);
        }
    }

    /// <summary>A 500 in the API's shape when nothing was sent yet; otherwise the only honest signal left is a broken connection.</summary>
    private async Task FailAsync()
    {
        if (!Context.Response.HasStarted)
        {
            try
            {
                Context.Response.Headers.Remove("retry-after");
                await WriteErrorAsync(ErrorKind.Api, "Internal server error");
                return;
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
            {
                // Fall through to aborting the connection.
            }
        }

        Context.Abort();
    }

    /// <summary>
    /// The checks every API route makes before reading the body, in order: well-formed control headers, latency,
    /// credential, <c>anthropic-version</c> (when required), simulated error status. False when an error was written.
    /// </summary>
    public async ValueTask<bool> PrepareAsync(bool requireAnthropicVersion)
    {
        if (controlsError is not null)
        {
            await WriteErrorAsync(ErrorKind.InvalidRequest, controlsError);
            return false;
        }

        if (Controls.LatencyMs > 0)
        {
            await Task.Delay(Controls.LatencyMs, Aborted);
        }

        if (!await AuthenticateAsync())
        {
            return false;
        }

        if (requireAnthropicVersion && StringValues.IsNullOrEmpty(Context.Request.Headers["anthropic-version"]))
        {
            await WriteErrorAsync(ErrorKind.InvalidRequest, "anthropic-version: header is required");
            return false;
        }

        if (Controls.ForcedStatus != 0 && (Controls.ForcedStatusTimes == 0 || Attempt is null || Attempt.Number <= Controls.ForcedStatusTimes))
        {
            var kind = ApiErrors.KindFor(Controls.ForcedStatus);
            var retryAfter = Controls.RetryAfterSeconds
                ?? (Controls.ForcedStatus is 429 or 529 ? Options.RetryAfterSeconds : null);
            if (retryAfter is int seconds)
            {
                Context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            await WriteErrorAsync(kind, ApiErrors.SimulatedMessage(kind), status: Controls.ForcedStatus);
            return false;
        }

        return true;
    }

    private async ValueTask<bool> AuthenticateAsync()
    {
        var headers = Context.Request.Headers;
        string? key = null;
        if (Flavor == ApiFlavor.Anthropic)
        {
            key = headers["x-api-key"].ToString();
        }

        if (string.IsNullOrEmpty(key))
        {
            var authorization = headers.Authorization.ToString();
            if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                key = authorization[7..].Trim();
                // An OAuth access token this simulator issued (Claude Pro/Max style): valid until it expires.
                if (Flavor == ApiFlavor.Anthropic && key.StartsWith(OAuth.OAuthServer.AccessTokenPrefix, StringComparison.Ordinal))
                {
                    if (Context.RequestServices.GetRequiredService<OAuth.OAuthServer>().IsValidAccessToken(key))
                    {
                        return true;
                    }

                    await WriteErrorAsync(ErrorKind.Authentication, "OAuth token has expired or is invalid.");
                    return false;
                }
            }
        }

        if (string.IsNullOrEmpty(key))
        {
            await WriteErrorAsync(
                ErrorKind.Authentication,
                Flavor == ApiFlavor.Anthropic
                    ? "x-api-key header is required"
                    : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
            return false;
        }

        var expected = Options.ExpectedApiKey;
        if (!string.IsNullOrEmpty(expected) && !string.Equals(key, expected, StringComparison.Ordinal))
        {
            await WriteErrorAsync(
                ErrorKind.Authentication,
                Flavor == ApiFlavor.Anthropic ? "invalid x-api-key" : "Incorrect API key provided.",
                code: "invalid_api_key");
            return false;
        }

        return true;
    }

    /// <summary>
    /// Reads the whole body and parses it; the returned root stays valid until the exchange ends or
    /// <see cref="ReleaseBody"/>. Null when an error (malformed JSON, body too large) was written instead.
    /// </summary>
    public async ValueTask<JsonElement?> ReadJsonAsync()
    {
        var reader = Context.Request.BodyReader;
        try
        {
            while (true)
            {
                bodyRead = await reader.ReadAsync(Aborted);
                bodyHeld = true;
                if (bodyRead.IsCompleted)
                {
                    break;
                }

                reader.AdvanceTo(bodyRead.Buffer.Start, bodyRead.Buffer.End);
                bodyHeld = false;
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteErrorAsync(ErrorKind.RequestTooLarge, "Request exceeds the maximum allowed number of bytes.");
            return null;
        }
        catch (BadHttpRequestException ex)
        {
            // Typically a client that went away in the middle of sending its body: answer in the API's shape.
            SimulatorLog.BadRequestBody(state.Logger, RequestId, ex.Message);
            await WriteErrorAsync(ApiErrors.KindFor(ex.StatusCode), ex.Message, status: ex.StatusCode);
            return null;
        }

        Attempt?.SetRequestBody(bodyRead.Buffer);
        try
        {
            document = JsonDocument.Parse(bodyRead.Buffer);
            return document.RootElement;
        }
        catch (JsonException ex)
        {
            await WriteErrorAsync(
                ErrorKind.InvalidRequest,
                Flavor == ApiFlavor.Anthropic
                    ? $"There was an error parsing the body of your request: {ex.Message}"
                    : "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)");
            return null;
        }
    }

    /// <summary>Frees the parsed body (call once the request has been reduced to a plan).</summary>
    public void ReleaseBody()
    {
        document?.Dispose();
        document = null;
        if (bodyHeld)
        {
            bodyHeld = false;
            Context.Request.BodyReader.AdvanceTo(bodyRead.Buffer.End);
        }
    }

    public ValueTask WriteErrorAsync(ErrorKind kind, string message, string? param = null, string? code = null, int? status = null)
    {
        var writer = Buffer.Start(default);
        if (Flavor == ApiFlavor.Anthropic)
        {
            ApiErrors.WriteAnthropic(writer, kind, message, RequestId);
        }
        else
        {
            ApiErrors.WriteOpenAi(writer, kind, message, param, code);
        }

        return SendJsonAsync(status ?? ApiErrors.StatusFor(kind));
    }

    /// <summary>Starts a JSON body in the exchange's buffer.</summary>
    public Utf8JsonWriter BeginJson() => Buffer.Start(default);

    /// <summary>
    /// Sends the JSON composed since <see cref="BeginJson"/> as the whole response. With
    /// <see cref="SimulatorHeaders.CutAfter"/> only that many bytes are sent before the connection is aborted.
    /// </summary>
    public async ValueTask SendJsonAsync(int status = StatusCodes.Status200OK)
    {
        var body = Buffer.Finish(default);
        var response = Context.Response;
        response.StatusCode = status;
        response.Headers.ContentType = JsonContentType;
        response.ContentLength = body.Length;
        if (Controls.CutAfter is int cut && cut < body.Length && status < 400)
        {
            body = body[..cut];
            await WriteAndFlushAsync(body, isEvent: false);
            await CutConnectionAsync();
        }

        await WriteAndFlushAsync(body, isEvent: false);
    }

    /// <summary>Sends the SSE response headers at once (so a gated or slow stream is visibly open).</summary>
    public async ValueTask StartStreamAsync()
    {
        var response = Context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = EventStreamContentType;
        response.Headers.CacheControl = NoCache;
        if (Controls.Gate is not null)
        {
            gate = state.Gates.Acquire(Controls.Gate);
        }

        await response.StartAsync(Aborted);
        await response.BodyWriter.FlushAsync(Aborted);
        if (Controls.CutAfter == 0)
        {
            await CutConnectionAsync();
        }
    }

    /// <summary>The TTFT delay, once, before the first event that carries generated content.</summary>
    public Task BeforeContentAsync()
    {
        if (contentStarted || Controls.TtftMs == 0)
        {
            contentStarted = true;
            return Task.CompletedTask;
        }

        contentStarted = true;
        return Task.Delay(Controls.TtftMs, Aborted);
    }

    /// <summary>Starts an Anthropic SSE frame: <c>event: name\ndata: </c> followed by the JSON the caller writes.</summary>
    public Utf8JsonWriter BeginEvent(ReadOnlySpan<byte> eventName) => Buffer.Start("event: "u8, eventName, "\ndata: "u8);

    /// <summary>Starts a data-only SSE frame (OpenAI chunks).</summary>
    public Utf8JsonWriter BeginData() => Buffer.Start("data: "u8);

    /// <summary>
    /// Ends the frame begun with <see cref="BeginEvent"/> / <see cref="BeginData"/> and sends it, honouring the gate,
    /// the event delay, <see cref="SimulatorHeaders.ErrorAfter"/> and <see cref="SimulatorHeaders.CutAfter"/>.
    /// </summary>
    public async ValueTask SendEventAsync()
    {
        Buffer.Finish("\n\n"u8);
        if (Controls.ErrorAfter is int errorAfter && eventsSent == errorAfter)
        {
            await SendInStreamErrorAsync();
        }

        await SendFrameAsync(Buffer.Bytes.WrittenMemory);
    }

    /// <summary>Sends a literal frame such as <c>data: [DONE]</c> under the same rules as <see cref="SendEventAsync"/>.</summary>
    public async ValueTask SendLiteralEventAsync(ReadOnlyMemory<byte> frame)
    {
        if (Controls.ErrorAfter is int errorAfter && eventsSent == errorAfter)
        {
            await SendInStreamErrorAsync();
        }

        await SendFrameAsync(frame);
    }

    private async ValueTask SendInStreamErrorAsync()
    {
        Utf8JsonWriter writer;
        if (Flavor == ApiFlavor.Anthropic)
        {
            writer = BeginEvent("error"u8);
            ApiErrors.WriteAnthropic(writer, ErrorKind.Overloaded, ApiErrors.SimulatedMessage(ErrorKind.Overloaded), requestId: null);
        }
        else
        {
            writer = BeginData();
            ApiErrors.WriteOpenAi(writer, ErrorKind.Overloaded, "The server is overloaded. Please try again later.", null, null);
        }

        await SendFrameAsync(Buffer.Finish("\n\n"u8));
        throw new StreamInterruptedException();
    }

    private async ValueTask SendFrameAsync(ReadOnlyMemory<byte> frame)
    {
        if (gate is not null)
        {
            await gate.WaitAsync(Aborted);
        }

        var cadence = Controls.EventDelayMs > 0 ? TimeSpan.FromMilliseconds(Controls.EventDelayMs) : TimeSpan.Zero;
        if (eventsSent > 0 && cadence > TimeSpan.Zero)
        {
            // A fixed cadence: each event is due one delay after the previous one was due, so the timer's lateness
            // does not add up over a stream (a client comparing two streams event by event sees the transport, not
            // the timer). After a long wait (TTFT, a gate) the cadence restarts instead of bursting to catch up.
            var now = Stopwatch.GetTimestamp();
            if (now - nextEventDue > Math.Max(8 * cadence.TotalSeconds, 0.05) * Stopwatch.Frequency)
            {
                nextEventDue = now + (long)(cadence.TotalSeconds * Stopwatch.Frequency);
            }

            var wait = Stopwatch.GetElapsedTime(now, nextEventDue);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, Aborted);
            }
        }

        await WriteAndFlushAsync(frame, isEvent: true);
        if (cadence > TimeSpan.Zero)
        {
            nextEventDue = eventsSent == 0
                ? Stopwatch.GetTimestamp() + (long)(cadence.TotalSeconds * Stopwatch.Frequency)
                : nextEventDue + (long)(cadence.TotalSeconds * Stopwatch.Frequency);
        }

        eventsSent++;
        if (Controls.CutAfter is int cut && eventsSent >= cut)
        {
            await CutConnectionAsync();
        }
    }

    private async ValueTask WriteAndFlushAsync(ReadOnlyMemory<byte> bytes, bool isEvent)
    {
        Aborted.ThrowIfCancellationRequested();
        var writer = Context.Response.BodyWriter;
        writer.Write(bytes.Span);
        Attempt?.AppendResponse(bytes.Span, isEvent);
        var result = await writer.FlushAsync(Aborted);
        if (result.IsCanceled || result.IsCompleted)
        {
            Aborted.ThrowIfCancellationRequested();
            throw new IOException("The response was closed by the client.");
        }
    }

    /// <summary>
    /// Ends the connection without finishing the response. On HTTP/1.1 the connection's output is completed instead
    /// of aborted: the transport then sends every byte already flushed and closes with a FIN, so the client reliably
    /// gets the N events and then a body that ends without its terminating chunk (an abort could discard flushed
    /// bytes still queued in the transport, and often resets the connection before the client reads them).
    /// HTTP/2 and other transports fall back to aborting the request (RST_STREAM on HTTP/2).
    /// </summary>
    private async Task CutConnectionAsync()
    {
        Attempt?.MarkCut();
        SimulatorLog.StreamCut(state.Logger, RequestId, eventsSent);
        var transport = HttpProtocol.IsHttp11(Context.Request.Protocol) ? Context.Features.Get<IConnectionTransportFeature>() : null;
        var lifetime = Context.Features.Get<IConnectionLifetimeFeature>();
        if (transport is not null && lifetime is not null)
        {
            await transport.Transport.Output.CompleteAsync();
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ConnectionClosed.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), closed))
            {
                await Task.WhenAny(closed.Task, Task.Delay(CutDrainTimeout));
            }
        }

        Context.Abort();
        throw new StreamInterruptedException();
    }

    /// <summary>Unwinds a handler after a simulated cut or in-stream error; never escapes <see cref="RunAsync"/>.</summary>
    private sealed class StreamInterruptedException : Exception;
}
