using LlmGateway.Gateway.Configuration;
using LlmGateway.Gateway.Requests;
using LlmGateway.ServiceDefaults.Requests;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

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
/// id. These calls are not idempotent, so they are never retried; they have a total timeout.
/// </summary>
internal sealed partial class ControlPlaneForwarder(
    IHttpClientFactory clients,
    IOptions<GatewayOptions> gatewayOptions,
    IOptions<ControlPlaneOptions> controlPlaneOptions,
    ILogger<ControlPlaneForwarder> logger)
{
    private readonly TimeSpan _timeout = controlPlaneOptions.Value.Timeout;

    public const string TokenServiceClient = "controlplane-tokenservice";
    public const string UsageWorkerClient = "controlplane-usageworker";

    private readonly int _maxBodyBytes = gatewayOptions.Value.MaxRequestBodyBytes;

    public async Task ForwardAsync(HttpContext context, ControlPlaneService service)
    {
        var requestId = RequestIds.Of(context);
        var request = context.Request;
        if (request.ContentLength > _maxBodyBytes)
        {
            await AnthropicErrors.WriteAsync(context, 413, AnthropicErrors.RequestTooLarge,
                $"Request body is larger than the {_maxBodyBytes} bytes this gateway accepts.", requestId);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = _maxBodyBytes;
        }

        var client = clients.CreateClient(service == ControlPlaneService.TokenService ? TokenServiceClient : UsageWorkerClient);
        // The path is canonical (CanonicalPath, checked before routing); each segment is still escaped, so nothing in
        // it can be read as a separator, a dot segment or a query by the service behind.
        var path = string.Join('/', (request.Path.Value ?? "/").Split('/').Select(Uri.EscapeDataString));
        var target = new Uri(client.BaseAddress!, path + request.QueryString.Value);
        using var message = new HttpRequestMessage(HttpMethod.Parse(request.Method), target);
        if (UpstreamForwarder.HasBody(request))
        {
            message.Content = new StreamContent(request.Body);
        }

        HeaderPolicy.CopyToControlPlane(context, message, requestId);

        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            // The caller's own body failing (too large, broken framing) is the caller's error, not the service's.
            var badBody = RequestBodyReader.FindBadRequest(ex);
            var timedOut = ex is OperationCanceledException;
            LogFailed(logger, requestId, service.ToString(), request.Path.Value ?? "/", ex.Message);
            if (badBody is { StatusCode: 413 })
            {
                await AnthropicErrors.WriteAsync(context, 413, AnthropicErrors.RequestTooLarge,
                    $"Request body is larger than the {_maxBodyBytes} bytes this gateway accepts.", requestId);
            }
            else if (badBody is not null)
            {
                await AnthropicErrors.WriteAsync(context, 400, AnthropicErrors.InvalidRequest, RequestBodyReader.MalformedMessage, requestId);
            }
            else
            {
                await AnthropicErrors.WriteAsync(context, timedOut ? 504 : 502, timedOut ? AnthropicErrors.Timeout : AnthropicErrors.Api,
                    timedOut ? "The control-plane service did not answer in time." : "The control-plane service could not be reached.", requestId);
            }

            return;
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            HeaderPolicy.CopyToClient(response, context.Response, fromModelProvider: false);
            context.Response.Headers[HeaderPolicy.RequestIdHeader] = requestId;
            if (HttpMethods.IsHead(request.Method))
            {
                return;
            }

            var eventStream = string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);
            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            // The client's timeout ends with the headers: the body may not stall longer than the same timeout either.
            using var exchange = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            var activity = new ActivityTimer(exchange, _timeout);
            activity.Touch();
            var copy = await StreamCopier.CopyAsync(body, context.Response.Body, null, eventStream, TimeProvider.System, activity);
            if (copy.Outcome is CopyOutcome.SourceFailed || (copy.Outcome is CopyOutcome.Canceled && !context.RequestAborted.IsCancellationRequested))
            {
                LogFailed(logger, requestId, service.ToString(), request.Path.Value ?? "/", copy.Error?.Message ?? "response cut");
                context.Abort();
            }
        }
    }

    [LoggerMessage(1711, LogLevel.Warning, "{RequestId}: forwarding {Path} to {Service} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string requestId, string service, string path, string reason);
}
