using System.Threading.Channels;

namespace LlmGateway.ServiceDefaults.Tests.Fakes;

/// <summary>
/// The innermost handler in resilience tests: answers each attempt from a script, records what it was sent
/// (URI, headers, body, fake-clock time) and lets the test await the n-th attempt.
/// </summary>
public sealed class ScriptedHandler(TimeProvider clock, params Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>[] script) : HttpMessageHandler
{
    private readonly Channel<SentRequest> _sent = Channel.CreateUnbounded<SentRequest>();
    private readonly List<SentRequest> _all = [];
    private int _next;

    public IReadOnlyList<SentRequest> Sent
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    /// <summary>Awaits the next attempt the handler receives.</summary>
    public async Task<SentRequest> NextAttemptAsync() =>
        await _sent.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

    public static Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> Status(int status, Action<HttpResponseMessage>? configure = null) =>
        (_, _) =>
        {
            var response = new HttpResponseMessage((System.Net.HttpStatusCode)status) { Content = new StringContent($"status {status}") };
            configure?.Invoke(response);
            return Task.FromResult(response);
        };

    public static Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> Throw(Exception exception) =>
        (_, _) => Task.FromException<HttpResponseMessage>(exception);

    /// <summary>Never answers until cancelled (an attempt that hangs).</summary>
    public static Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> Hang() =>
        async (_, token) =>
        {
            await Task.Delay(Timeout.Infinite, token);
            throw new InvalidOperationException("unreachable");
        };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var sent = new SentRequest(
            request,
            request.RequestUri!,
            request.Headers.NonValidated.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase),
            body,
            clock.GetUtcNow());
        lock (_all)
        {
            _all.Add(sent);
        }

        var index = Interlocked.Increment(ref _next) - 1;
        var step = script.Length == 0 ? Status(200) : script[Math.Min(index, script.Length - 1)];
        _sent.Writer.TryWrite(sent);
        var response = await step(request, cancellationToken);
        response.RequestMessage ??= request;
        return response;
    }
}

public sealed record SentRequest(HttpRequestMessage Message, Uri Uri, IReadOnlyDictionary<string, string> Headers, string? Body, DateTimeOffset At);
