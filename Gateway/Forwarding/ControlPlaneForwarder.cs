using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Pipeline;
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
internal sealed class ControlPlaneForwarder(
    IHttpForwarder forwarder,
    IHttpMessageHandlerFactory handlers,
    IHttpClientFactory clients,
    IOptions<GatewayOptions> gatewayOptions,
    IOptions<ControlPlaneOptions> controlPlaneOptions,
    ILogger<ControlPlaneForwarder> logger)
{
    public const string TokenServiceClient = "controlplane-tokenservice";
    public const string UsageWorkerClient = "controlplane-usageworker";

    /// <summary>How failure messages name the service behind (<see cref="ForwardingFailures.Report"/>).</summary>
    private const string ControlPlaneApi = "The control-plane service";

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
        var failure = Classify(error, exception);
        if (context.RequestAborted.IsCancellationRequested || failure == ForwardingFailure.RequestCanceled)
        {
            return;
        }

        var report = ForwardingFailures.Report(logger, failure, requestId, service + " " + (request.Path.Value ?? "/"), 1, exception,
            exception?.Message ?? error.ToString(), ControlPlaneApi);
        // Once the response started, YARP has aborted it: the client sees it cut.
        if (context.Response.HasStarted)
        {
            return;
        }

        // A body that grew past the limit while it was sent gets the same answer as one announced too large.
        await (report.Status == StatusCodes.Status413PayloadTooLarge
            ? TooLargeAsync(context, requestId)
            : AnthropicErrors.WriteAsync(context, report.Status, report.ErrorType, report.Message, requestId));
    }

    /// <summary>YARP's error, in the gateway's failure kinds. The caller's own body failing is the caller's error, not the service's.</summary>
    private static ForwardingFailure Classify(ForwarderError error, Exception? exception) => error switch
    {
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled => ForwardingFailure.RequestCanceled,
        _ when RequestBodyReader.FindBadRequest(exception) is not null => ForwardingFailure.RequestBody,
        ForwarderError.RequestBodyClient => ForwardingFailure.RequestBody,
        ForwarderError.RequestTimedOut => ForwardingFailure.UpstreamTimeout,
        ForwarderError.ResponseBodyClient or ForwarderError.UpgradeResponseClient => ForwardingFailure.ResponseBodyClient,
        // The client is still there (checked first): the activity timeout ended the copy.
        ForwarderError.ResponseBodyCanceled or ForwarderError.UpgradeResponseCanceled => ForwardingFailure.ResponseBodyStalled,
        ForwarderError.ResponseBodyDestination or ForwarderError.UpgradeResponseDestination => ForwardingFailure.ResponseBodyUpstream,
        _ => ForwardingFailure.UpstreamUnreachable,
    };

    private Task TooLargeAsync(HttpContext context, string requestId)
    {
        var tooLarge = Rejection.TooLarge(_maxBodyBytes);
        return AnthropicErrors.WriteAsync(context, tooLarge.Status, tooLarge.ErrorType, tooLarge.Message, requestId);
    }

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
