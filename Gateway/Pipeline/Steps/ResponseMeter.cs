using LlmGateway.Gateway.Forwarding;
using LlmGateway.Gateway.Requests;
using LlmGateway.Gateway.Streaming;

namespace LlmGateway.Gateway.Pipeline.Steps;

/// <summary>
/// Step <i>meter</i>: readers watch the response on its way to the client (<see cref="SseUsageReader"/> for an event
/// stream, <see cref="JsonUsageReader"/> otherwise); once it is done, the request's usage, response model, stop
/// reason and error type are taken from them and from how forwarding went.
/// </summary>
internal sealed class ResponseMeter(ModelNameTable modelNames)
{
    public void Attach(ModelExchange exchange)
    {
        exchange.EventReader = exchange.Stream ? new SseUsageReader(modelNames) : null;
        exchange.JsonReader = new JsonUsageReader(modelNames);
    }

    public static void Measure(ModelExchange exchange, in ForwardResult result)
    {
        exchange.Status = result.StatusCode;
        exchange.Upstream = result.Upstream?.Name;
        exchange.Attempts = result.Attempts;
        exchange.SendStarted = result.SendStarted;
        exchange.FirstByteWritten = result.FirstByteWritten;

        string? upstreamErrorType;
        if (result.EventStream && exchange.EventReader is { } events)
        {
            exchange.Usage = events.Usage;
            exchange.ResponseModel = events.ResponseModel;
            exchange.StopReason = events.StopReason;
            upstreamErrorType = events.ErrorType;
            if (!events.Completed)
            {
                // Cut short (by either side): input is exact from message_start, output is what was seen so far.
                exchange.Usage.OutputTokens = events.EstimateOutputTokens();
                exchange.Estimated = true;
            }
        }
        else
        {
            var json = exchange.JsonReader!;
            var readable = result.Failure == ForwardingFailure.None && json.Complete();
            exchange.Usage = json.Usage;
            exchange.ResponseModel = json.ResponseModel;
            exchange.StopReason = json.StopReason;
            upstreamErrorType = json.ErrorType;
            // A successful answer whose usage could not be read (not JSON, or too large to capture).
            exchange.Estimated = !readable && result.Failure == ForwardingFailure.None && exchange.Status < 400;
        }

        // Failures after the upstream may have started work: what it consumed is not fully known.
        if (result.Failure is ForwardingFailure.RequestCanceled or ForwardingFailure.UpstreamTimeout
            or ForwardingFailure.ResponseBodyClient or ForwardingFailure.ResponseBodyUpstream or ForwardingFailure.ResponseBodyStalled)
        {
            exchange.Estimated = true;
        }

        if (!exchange.Route.MeteredTokens)
        {
            exchange.Usage = default;
            exchange.Estimated = false;
        }

        exchange.ErrorType = ForwardingFailures.RecordedErrorType(result.Failure, exchange.Status, upstreamErrorType);
    }
}
