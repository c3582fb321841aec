using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmGateway.Gateway.Tests.Infrastructure;

/// <summary>What the fake upstream received.</summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A scriptable upstream on a real socket, for forwarder tests that need exact control (timing, cuts, statuses).
/// Every request is recorded with its body; <see cref="Handler"/> answers it.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeUpstream(WebApplication app) => _app = app;

    public RequestDelegate Handler { get; set; } = context => Task.CompletedTask;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Completed when a request's client went away (RequestAborted fired) while the handler ran.</summary>
    public TaskCompletionSource Aborted { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<FakeUpstream> StartAsync(RequestDelegate? handler = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var upstream = new FakeUpstream(app);
        if (handler is not null)
        {
            upstream.Handler = handler;
        }

        app.Run(async context =>
        {
            // Watched from the moment the request arrives: a client that gives up while the body is still being
            // read (a short timeout on a slow machine) is an abort too.
            var aborted = upstream.Aborted;
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            var body = new MemoryStream();
            try
            {
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            }
            catch (Exception) when (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            upstream.Requests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, body.ToArray()));
            context.Request.Body = new MemoryStream(body.ToArray());
            try
            {
                await upstream.Handler(context);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
            }
            catch (IOException) when (context.RequestAborted.IsCancellationRequested)
            {
            }
        });

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        upstream.BaseAddress = new Uri(address);
        return upstream;
    }

    public void ResetAborted() => Aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
