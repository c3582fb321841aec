using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Requests;
using LlmGateway.ServiceDefaults.Requests;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace LlmGateway.Gateway.Forwarding;

/// <summary>The services behind the gateway's control-plane routes.</summary>
internal enum ControlPlaneService
{
    TokenService,
    UsageWorker,
}

/// <summary>
/// Hands control-plane calls made on the gateway's public address (<c>/v1/tokens</c>, <c>/bootstrap</c>,
/// <c>/refresh</c>, <c>/admin/*</c>) to the service that owns them, which authenticates the caller itself: method,
/// path, query, body and the caller's credential headers pass unchanged, plus <c>X-Forwarded-*</c> and the request
/// id. YARP's <see cref="IHttpForwarder"/> does the exchange (streaming both bodies, HEAD, cancellation, an activity
/// timeout of <see cref="ControlPlaneOptions.Timeout"/> from the request to the last byte of the response) over the
/// named client's handler (service discovery included); <see cref="ControlPlaneTransformer"/> applies the gateway's
/// header policy. These calls are not idempotent, so they are never retried.
/// </summary>
internal sealed partial class ControlPlaneForwarder(
    IHttpForwarder forwarder,
    IHttpMessageHandlerFactory handlers,
    IHttpClientFactory clients,
    IOptions<GatewayOptions> gatewayOptions,
    IOptions<ControlPlaneOptions> controlPlaneOptions,
    ILogger<ControlPlaneForwarder> logger)
{
    public const string TokenServiceClient = "controlplane-tokenservice";
    public const string UsageWorkerClient = "controlplane-usageworker";

    private readonly int _maxBodyBytes = gatewayOptions.Value.MaxRequestBodyBytes;
    private readonly ForwarderRequestConfig _config = new() { ActivityTimeout = controlPlaneOptions.Value.Timeout };
    private readonly string _tokenService = clients.CreateClient(TokenServiceClient).BaseAddress!.ToString();
    private readonly string _usageWorker = clients.CreateClient(UsageWorkerClient).BaseAddress!.ToString();

    public async Task ForwardAsync(HttpContext context, ControlPlaneService service)
    {
        var requestId = RequestIds.Of(context);
        var request = context.Request;
        if (request.ContentLength > _maxBodyBytes)
        {
            await TooLargeAsync(context, requestId);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = _maxBodyBytes;
        }

        var (name, prefix) = service == ControlPlaneService.TokenService ? (TokenServiceClient, _tokenService) : (UsageWorkerClient, _usageWorker);
        // The factory's current handler for the client (rotated by the factory; service discovery resolves the name).
        using var invoker = new HttpMessageInvoker(handlers.CreateHandler(name), disposeHandler: false);
        var error = await forwarder.SendAsync(context, prefix, invoker, _config, ControlPlaneTransformer.Instance);
        if (error == ForwarderError.None)
        {
            return;
        }

        var exception = context.GetForwarderErrorFeature()?.Exception;
        if (context.RequestAborted.IsCancellationRequested || error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled)
        {
            return;
        }

        LogFailed(logger, requestId, service.ToString(), request.Path.Value ?? "/", error.ToString(), exception?.Message ?? "");
        if (context.Response.HasStarted)
        {
            return; // YARP has aborted the response: the client sees it cut
        }

        // The caller's own body failing (too large, broken framing) is the caller's error, not the service's.
        var badBody = RequestBodyReader.FindBadRequest(exception);
        if (badBody is { StatusCode: 413 })
        {
            await TooLargeAsync(context, requestId);
        }
        else if (badBody is not null || error is ForwarderError.RequestBodyClient)
        {
            await AnthropicErrors.WriteAsync(context, 400, AnthropicErrors.InvalidRequest, RequestBodyReader.MalformedMessage, requestId);
        }
        else if (error is ForwarderError.RequestTimedOut)
        {
            await AnthropicErrors.WriteAsync(context, 504, AnthropicErrors.Timeout, "The control-plane service did not answer in time.", requestId);
        }
        else
        {
            await AnthropicErrors.WriteAsync(context, 502, AnthropicErrors.Api, "The control-plane service could not be reached.", requestId);
        }
    }

    private Task TooLargeAsync(HttpContext context, string requestId) =>
        AnthropicErrors.WriteAsync(context, 413, AnthropicErrors.RequestTooLarge, $"Request body is larger than the {_maxBodyBytes} bytes this gateway accepts.", requestId);

    [LoggerMessage(1711, LogLevel.Warning, "{RequestId}: forwarding {Path} to {Service} failed ({Error}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string requestId, string service, string path, string error, string reason);

    /// <summary>
    /// The gateway's header policy on YARP's exchange: <see cref="HeaderPolicy.CopyToControlPlane"/> on the way in (with a
    /// canonical, segment-escaped path), <see cref="HeaderPolicy.CopyToClient"/> and the gateway's request id on the way out.
    /// </summary>
    private sealed class ControlPlaneTransformer : HttpTransformer
    {
        public static readonly ControlPlaneTransformer Instance = new();

        public override ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            var request = httpContext.Request;
            // The path is canonical (CanonicalPath, checked before routing); each segment is still escaped, so nothing in
            // it can be read as a separator, a dot segment or a query by the service behind.
            var path = string.Join('/', (request.Path.Value ?? "/").Split('/').Select(Uri.EscapeDataString));
            proxyRequest.RequestUri = new Uri(new Uri(destinationPrefix), path + request.QueryString.Value);
            HeaderPolicy.CopyToControlPlane(httpContext, proxyRequest, RequestIds.Of(httpContext));
            return ValueTask.CompletedTask;
        }

        public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            if (proxyResponse is null)
            {
                return new(false);
            }

            HeaderPolicy.CopyToClient(proxyResponse, httpContext.Response, fromModelProvider: false);
            httpContext.Response.Headers[HeaderPolicy.RequestIdHeader] = RequestIds.Of(httpContext);
            return new(true);
        }
    }
}
