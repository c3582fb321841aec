using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Credentials;
using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Pipeline.Steps;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Telemetry;
using LlmGateway.ServiceDefaults.Requests;

namespace LlmGateway.Gateway.Pipeline;

/// <summary>
/// The hot path for model requests (<c>/v1/messages</c>, <c>/v1/messages/count_tokens</c>, <c>/v1/complete</c>,
/// <c>/v1/chat/completions</c>), one step after the other: authenticate (the <c>caller</c> scheme, with
/// <see cref="GatewayCallerAuthenticator"/> as its lookup, before the handler runs) → read
/// (<see cref="ModelRequestReader"/>) → authorize (<see cref="ModelAuthorization"/>) → admit
/// (<see cref="ModelRequestAdmission"/>) → route (<see cref="ModelRequestRouting"/>) → forward
/// (<see cref="UpstreamForwarder"/>) → meter (<see cref="ResponseMeter"/>) → record (<see cref="ModelRequestRecorder"/>).
/// Every outcome after authentication, success or not, produces exactly one usage event.
/// </summary>
/// <remarks>
/// The steps are singletons and the request's state lives in one <see cref="ModelExchange"/>; their I/O is awaited
/// here (but for the recorder and an upstream OAuth account's token), so the steps add no async state machine to a request.
/// </remarks>
internal sealed class ModelRequestPipeline(
    ModelRequestReader reader,
    ModelRequestAdmission admission,
    ModelRequestRouting routing,
    UpstreamForwarder forwarder,
    ResponseMeter meter,
    ModelRequestRecorder recorder,
    TimeProvider time)
{
    public async Task HandleAsync(HttpContext context, ModelRoute route)
    {
        var started = time.GetTimestamp();
        var requestId = RequestIds.Of(context);
        var aborted = context.RequestAborted;
        using var activity = ModelRequestTelemetry.Start(route);

        var exchange = new ModelExchange(requestId, route, GatewayCallerAuthenticator.CredentialOf(context), started);
        try
        {
            if (ModelRequestReader.CheckMediaType(context.Request) is { } unsupported)
            {
                await RejectAsync(context, exchange, unsupported);
                return;
            }

            BodyReadStatus read;
            PooledBody? body;
            try
            {
                (read, body) = await reader.ReadBodyAsync(context.Request, aborted);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or BadHttpRequestException)
            {
                // The client stopped sending (or went away): nobody to answer, but the attempt is recorded.
                exchange.Finish(ForwardingFailures.ClientClosedRequest, ForwardingFailures.Tag(ForwardingFailure.RequestCanceled));
                return;
            }

            if (reader.Read(context, exchange, read, body) is { } unreadable)
            {
                await RejectAsync(context, exchange, unreadable);
                return;
            }

            ModelRequestTelemetry.ModelKnown(activity, exchange);
            if (ModelAuthorization.Check(exchange.Credential, exchange.Model!) is { } forbidden)
            {
                await RejectAsync(context, exchange, forbidden);
                return;
            }

            var decision = await admission.AdmitAsync(exchange, aborted);
            if (!admission.Enter(context, exchange, decision))
            {
                await UnmeteredAdmission.WriteRefusalAsync(context, decision, requestId);
                return;
            }

            meter.Attach(exchange);
            if (await routing.RouteAsync(context, exchange, aborted) is { } unroutable)
            {
                await RejectAsync(context, exchange, unroutable);
                return;
            }

            var result = await forwarder.ForwardAsync(context, exchange.Forward, aborted);
            ResponseMeter.Measure(exchange, result);
        }
        finally
        {
            exchange.ReleaseBuffers();
            // Recorded before the response ends: a client that sends its next request as soon as this one is done
            // finds its concurrency slot released and its tokens corrected.
            await recorder.RecordAsync(exchange, activity);
        }
    }

    private static Task RejectAsync(HttpContext context, ModelExchange exchange, in Rejection rejection)
    {
        exchange.Finish(rejection.Status, rejection.ErrorType);
        return AnthropicErrors.WriteAsync(context, rejection.Status, rejection.ErrorType, rejection.Message, exchange.RequestId);
    }
}
