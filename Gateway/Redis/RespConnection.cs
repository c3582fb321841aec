using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace LlmGateway.Gateway.Redis;

/// <summary>Where and how <see cref="RespConnection"/> connects.</summary>
internal sealed record RespConnectionSettings(EndPoint EndPoint, string? Password, int Database)
{
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A connection whose oldest command waits this long for its reply is considered dead and dropped.</summary>
    public TimeSpan DeadConnectionTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>After a failed attempt, commands fail at once (no new attempt) for this long.</summary>
    public TimeSpan ReconnectInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// One pipelined connection to Redis for the gateway's hot path (admission, settlement, usage events): commands are
/// written by the calling thread (when a write is already in progress, the writer sends them in the same system
/// call), replies are read by one receive loop that completes each command's task on the thread that received it.
/// No dedicated threads and no queueing to the thread pool: a request costs its Redis round trip and nothing else.
/// </summary>
/// <remarks>
/// StackExchange.Redis hands every command to its own writer thread and every completion back to the thread pool; on
/// two cores those thread switches were most of the gateway's CPU per request (measured against 2.13: 145 against 96 µs
/// of gateway CPU per proxied request, Gateway README).
/// This connection speaks plain RESP2 to one endpoint (no TLS, no Sentinel: <see cref="ScriptRunner.Create"/> keeps
/// StackExchange.Redis for those). When the connection is lost, every pending command fails with
/// <see cref="RespConnectionException"/>, the next command reconnects, and while a reconnect attempt is not due commands
/// fail at once, so callers fall back instead of waiting.
/// </remarks>
internal sealed partial class RespConnection : IAsyncDisposable, IDisposable
{
    private readonly RespConnectionSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _connectGate = new();
    private readonly ITimer _watchdog;
    private Link? _link;
    private long _nextAttempt;
    private string _lastError = "not connected yet";
    private bool _reportedDown;
    private bool _disposed;

    public RespConnection(RespConnectionSettings settings, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _time = time;
        _logger = logger;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(settings.DeadConnectionTimeout.TotalMilliseconds / 4, 50, 1000));
        _watchdog = time.CreateTimer(static state => ((RespConnection)state!).CheckForDeadConnection(), this, period, period);
    }

    public EndPoint EndPoint => _settings.EndPoint;

    public bool IsConnected => Volatile.Read(ref _link) is { Failed: false, Connected: true };

    /// <summary>Connected, or a connection attempt is under way or due: a command may succeed.</summary>
    public bool IsAvailable
    {
        get
        {
            if (IsConnected)
            {
                return true;
            }

            lock (_connectGate)
            {
                return !_disposed && (_link is { Failed: false } || _time.GetTimestamp() >= _nextAttempt);
            }
        }
    }

    /// <summary>
    /// Sends one command, written by <paramref name="write"/> (a RESP array), and returns its reply; error replies are
    /// returned, not thrown. Throws <see cref="RespConnectionException"/> when not connected or the connection is lost.
    /// </summary>
    public Task<RespReply> ExecuteAsync<TState>(TState state, Action<IBufferWriter<byte>, TState> write)
    {
        var link = Volatile.Read(ref _link);
        if (link is not { Failed: false })
        {
            try
            {
                link = StartLink();
            }
            catch (RespException ex)
            {
                return Task.FromException<RespReply>(ex);
            }
        }

        // A link being connected buffers the command behind the handshake: commands keep the order they were issued in.
        return Send(link, state, write);
    }

    /// <summary>Connects now if not connected (start-up warm-up); failures are only logged.</summary>
    public async Task WarmUpAsync()
    {
        try
        {
            await StartLink().Ready;
        }
        catch (Exception ex) when (ex is RespException or ObjectDisposedException)
        {
            // Logged by the attempt; the next command tries again.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _watchdog.DisposeAsync();
        Close();
    }

    public void Dispose()
    {
        _watchdog.Dispose();
        Close();
    }

    private void Close()
    {
        Link? link;
        lock (_connectGate)
        {
            _disposed = true;
            link = _link;
        }

        if (link is not null)
        {
            Fail(link, new RespConnectionException("The Redis connection was closed."), report: false);
        }
    }

    private Task<RespReply> Send<TState>(Link link, TState state, Action<IBufferWriter<byte>, TState> write, string? handshake = null)
    {
        var command = new PendingCommand(_time.GetTimestamp(), handshake);
        bool flush;
        lock (link.Gate)
        {
            if (link.Failed)
            {
                return Task.FromException<RespReply>(new RespConnectionException("The connection to Redis was lost: " + link.Failure?.Message, link.Failure));
            }

            var mark = link.Output.WrittenCount;
            try
            {
                write(link.Output, state);
            }
            catch
            {
                link.Output.Truncate(mark);
                throw;
            }

            link.Pending.Enqueue(command);
            flush = !link.Writing;
            link.Writing = true;
        }

        if (flush)
        {
            Flush(link);
        }

        return command.Task;
    }

    /// <summary>Sends what is buffered, including what other threads add meanwhile; one thread flushes at a time.</summary>
    private void Flush(Link link)
    {
        while (true)
        {
            OutputBuffer chunk;
            lock (link.Gate)
            {
                if (link.Output.WrittenCount == 0 || link.Failed)
                {
                    link.Writing = false;
                    return;
                }

                chunk = link.Output;
                link.Output = link.Sending;
                link.Sending = chunk;
            }

            try
            {
                var data = chunk.WrittenSpan;
                while (!data.IsEmpty)
                {
                    data = data[link.Socket.Send(data, SocketFlags.None)..];
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                Fail(link, ex);
                lock (link.Gate)
                {
                    link.Writing = false;
                }

                return;
            }
            finally
            {
                chunk.Truncate(0);
            }
        }
    }

    private async Task ReceiveAsync(Link link)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var start = 0;
        var end = 0;
        try
        {
            while (true)
            {
                if (end == buffer.Length)
                {
                    if (start > 0)
                    {
                        buffer.AsSpan(start, end - start).CopyTo(buffer);
                    }
                    else
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, end).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    end -= start;
                    start = 0;
                }

                var received = await link.Socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    throw new RespConnectionException("Redis closed the connection.");
                }

                end += received;
                var position = 0;
                while (Resp.TryRead(buffer.AsSpan(start, end - start), ref position, out var reply))
                {
                    PendingCommand? command;
                    lock (link.Gate)
                    {
                        link.Pending.TryDequeue(out command);
                    }

                    if (command is null)
                    {
                        throw new RespProtocolException("Redis sent a reply to no command.");
                    }

                    if (command.Handshake is { } step && reply.IsError)
                    {
                        // Before anything queued behind the handshake sees a reply (NOAUTH…): they all fail with the link.
                        var refused = new RespConnectionException($"Redis refused the connection's {step}: {reply.AsString()}");
                        Fail(link, refused, report: false);
                        command.TrySetException(refused);
                        return;
                    }

                    // Completes inline: the request that waited continues on this thread, without a thread switch.
                    command.TrySetResult(reply);
                }

                start += position;
                if (start == end)
                {
                    start = end = 0;
                }
            }
        }
        catch (Exception ex)
        {
            Fail(link, ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The current link, or a new one: published at once with the handshake (<c>AUTH</c>, <c>SELECT</c>) queued first,
    /// so commands issued while it connects wait in its buffer, in order. Throws when a new attempt is not due yet.
    /// </summary>
    private Link StartLink()
    {
        lock (_connectGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_link is { Failed: false } current)
            {
                return current;
            }

            var now = _time.GetTimestamp();
            if (now < _nextAttempt)
            {
                throw new RespConnectionException($"Not connected to Redis at {_settings.EndPoint}: {_lastError}");
            }

            _nextAttempt = now + (long)(_settings.ReconnectInterval.TotalSeconds * _time.TimestampFrequency);
            var link = new Link(new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
            var handshake = new List<Task<RespReply>>(2);
            if (_settings.Password is { Length: > 0 } password)
            {
                handshake.Add(Send(link, ("AUTH", password), WriteHandshake, "AUTH"));
            }

            if (_settings.Database != 0)
            {
                handshake.Add(Send(link, ("SELECT", _settings.Database.ToString(System.Globalization.CultureInfo.InvariantCulture)), WriteHandshake, "SELECT"));
            }

            _link = link;
            _ = ConnectAsync(link, handshake);
            return link;
        }
    }

    private static void WriteHandshake(IBufferWriter<byte> output, (string Command, string Argument) state)
    {
        Resp.WriteArrayHeader(output, 2);
        Resp.WriteBulk(output, state.Command);
        Resp.WriteBulk(output, state.Argument);
    }

    private async Task ConnectAsync(Link link, List<Task<RespReply>> handshake)
    {
        try
        {
            using (var timeout = new CancellationTokenSource(_settings.ConnectTimeout))
            {
                await link.Socket.ConnectAsync(_settings.EndPoint, timeout.Token).ConfigureAwait(false);
            }

            _ = ReceiveAsync(link);
            // The link was created "writing": this sends the handshake and every command queued behind it.
            Flush(link);
            foreach (var step in handshake)
            {
                // A refusal fails the link in the receive loop, before any command queued behind it sees a reply.
                await step.WaitAsync(_settings.ConnectTimeout).ConfigureAwait(false);
            }

            link.Connected = true;
            bool wasDown;
            lock (_connectGate)
            {
                wasDown = _reportedDown;
                _reportedDown = false;
            }

            LogConnected(_logger, _settings.EndPoint.ToString(), wasDown);
            link.MarkReady(null);
        }
        catch (Exception ex)
        {
            var error = ex as RespException ?? new RespConnectionException($"Could not connect to Redis at {_settings.EndPoint}: {ex.Message}", ex);
            bool report;
            lock (_connectGate)
            {
                _lastError = error.Message;
                report = !_reportedDown && !_disposed;
                _reportedDown = true;
            }

            if (report)
            {
                LogConnectFailed(_logger, _settings.EndPoint.ToString(), error.Message);
            }

            Fail(link, error, report: false);
            link.MarkReady(error);
        }
    }

    private void Fail(Link link, Exception error, bool report = true)
    {
        PendingCommand[] pending;
        lock (link.Gate)
        {
            if (link.Failed)
            {
                return;
            }

            link.Failed = true;
            link.Failure = error;
            pending = [.. link.Pending];
            link.Pending.Clear();
        }

        link.Socket.Dispose();
        bool wasCurrent;
        lock (_connectGate)
        {
            wasCurrent = ReferenceEquals(_link, link);
            if (wasCurrent)
            {
                _link = null;
                if (link.Connected)
                {
                    // The first command after a loss reconnects at once; failed attempts then wait ReconnectInterval.
                    _nextAttempt = 0;
                }

                _lastError = error.Message;
                report &= !_reportedDown && !_disposed;
                _reportedDown |= report;
            }
        }

        if (wasCurrent && report)
        {
            LogConnectionLost(_logger, _settings.EndPoint.ToString(), error.Message);
        }

        foreach (var command in pending)
        {
            command.TrySetException(new RespConnectionException("The connection to Redis was lost: " + error.Message, error));
        }
    }

    private void CheckForDeadConnection()
    {
        if (Volatile.Read(ref _link) is not { Failed: false } link)
        {
            return;
        }

        long oldest;
        lock (link.Gate)
        {
            if (!link.Pending.TryPeek(out var command))
            {
                return;
            }

            oldest = command.Enqueued;
        }

        if (_time.GetElapsedTime(oldest) > _settings.DeadConnectionTimeout)
        {
            Fail(link, new RespConnectionException($"Redis did not reply within {_settings.DeadConnectionTimeout.TotalSeconds:0.#} s."));
        }
    }

    [LoggerMessage(1601, LogLevel.Information, "Hot-path Redis connection to {EndPoint} established (after an outage: {AfterOutage})")]
    private static partial void LogConnected(ILogger logger, string? endPoint, bool afterOutage);

    [LoggerMessage(1602, LogLevel.Warning, "Hot-path Redis connection to {EndPoint} lost: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, string? endPoint, string reason);

    [LoggerMessage(1603, LogLevel.Warning, "Could not connect to Redis at {EndPoint}: {Reason}; retrying on demand")]
    private static partial void LogConnectFailed(ILogger logger, string? endPoint, string reason);

    private sealed class Link(Socket socket)
    {
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Socket Socket { get; } = socket;

        /// <summary>Completes when the handshake succeeded, or fails with why the connection could not be made.</summary>
        public Task Ready => _ready.Task;

        public volatile bool Connected;

        public void MarkReady(Exception? error)
        {
            if (error is null)
            {
                _ready.TrySetResult();
            }
            else
            {
                _ready.TrySetException(error);
                _ = _ready.Task.Exception;
            }
        }

        public Lock Gate { get; } = new();
        public Queue<PendingCommand> Pending { get; } = new();
        public OutputBuffer Output { get; set; } = new();
        public OutputBuffer Sending { get; set; } = new();
        /// <summary>Someone is sending the buffer; a new link starts "writing" until it is connected.</summary>
        public bool Writing { get; set; } = true;
        public volatile bool Failed;
        public Exception? Failure { get; set; }
    }

    /// <summary>A command waiting for its reply; continuations run on the thread that completes it.</summary>
    private sealed class PendingCommand(long enqueued, string? handshake) : TaskCompletionSource<RespReply>
    {
        public long Enqueued { get; } = enqueued;

        /// <summary>The handshake step (<c>AUTH</c>, <c>SELECT</c>) this command is, or null for a caller's command.</summary>
        public string? Handshake { get; } = handshake;
    }

    /// <summary>A growable byte buffer that can be cut back (a command that failed to serialize leaves no trace).</summary>
    private sealed class OutputBuffer : IBufferWriter<byte>
    {
        private byte[] _buffer = new byte[4096];

        public int WrittenCount { get; private set; }

        public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, WrittenCount);

        public void Truncate(int length) => WrittenCount = length;

        public void Advance(int count) => WrittenCount += count;

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsMemory(WrittenCount);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsSpan(WrittenCount);
        }

        private void Ensure(int sizeHint)
        {
            var needed = WrittenCount + Math.Max(sizeHint, 1);
            if (needed > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
            }
        }
    }
}
