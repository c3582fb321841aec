using System.Net;
using LlmGateway.Gateway.Configuration;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>
/// The connection pool to the model provider: one <see cref="SocketsHttpHandler"/> for the process, tuned for a
/// proxy (unlimited connections, several HTTP/2 connections, no decompression, no cookies, no proxy, no redirects,
/// no draining of abandoned responses). It has connect and first-byte timeouts but no total timeout: streams last
/// minutes. No resilience handler: retries happen in the forwarder, only before the first response byte. No trace
/// context is sent upstream unless <see cref="UpstreamOptions.PropagateTraceContext"/> asks for it.
/// </summary>
internal sealed class UpstreamHttp : IDisposable
{
    public UpstreamHttp(IOptions<UpstreamOptions> options)
    {
        var o = options.Value;
        Handler = new SocketsHttpHandler
        {
            ConnectTimeout = o.ConnectTimeout,
            PooledConnectionLifetime = o.PooledConnectionLifetime,
            PooledConnectionIdleTimeout = o.PooledConnectionIdleTimeout,
            MaxConnectionsPerServer = int.MaxValue,
            EnableMultipleHttp2Connections = true,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            // An abandoned stream must close its connection at once (the upstream sees the cancellation), not be
            // drained for reuse.
            MaxResponseDrainSize = 0,
            ResponseDrainTimeout = TimeSpan.Zero,
        };
        if (!o.PropagateTraceContext)
        {
            // Without a propagator SocketsHttpHandler leaves its diagnostics stage out: no child activity and no
            // trace headers per upstream call (Upstream:PropagateTraceContext).
            Handler.ActivityHeadersPropagator = null;
        }

        Invoker = new HttpMessageInvoker(Handler, disposeHandler: true);
    }

    public SocketsHttpHandler Handler { get; }

    public HttpMessageInvoker Invoker { get; }

    public void Dispose() => Invoker.Dispose();
}
