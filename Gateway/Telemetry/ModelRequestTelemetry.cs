using System.Diagnostics;
using LlmGateway.Gateway.Pipeline;
using LlmGateway.Gateway.Streaming;

namespace LlmGateway.Gateway.Telemetry;

/// <summary>
/// The span and the GenAI metrics of one model request: the span starts with the request, is named for the model once
/// it is known, and gets the outcome's attributes at the end, when the duration, token, time-to-first-token, overhead
/// and retry metrics are recorded.
/// </summary>
internal sealed class ModelRequestTelemetry(GatewayTelemetry telemetry, TimeProvider time)
{
    public static Activity? Start(ModelRoute route) => GatewayTelemetry.Source.StartActivity(route.Operation, ActivityKind.Client);

    public static void ModelKnown(Activity? activity, ModelExchange exchange)
    {
        if (activity is null)
        {
            return;
        }

        activity.DisplayName = exchange.Route.Operation + " " + exchange.Model;
        activity.SetTag(GenAi.RequestModel, exchange.Model);
        if (exchange.MaxTokens is { } maxTokens)
        {
            activity.SetTag(GenAi.RequestMaxTokens, maxTokens);
        }
    }

    public void Record(ModelExchange exchange, Activity? activity, TimeSpan latency, TimeSpan? ttfb)
    {
        var model = exchange.Model ?? "unknown";
        var operation = exchange.Route.Operation;
        var tags = new TagList
        {
            { GenAi.OperationName, operation },
            { GenAi.System, GenAi.Anthropic },
            { GenAi.RequestModel, model },
        };

        if (exchange.ErrorType is { } errorType)
        {
            var withError = tags;
            withError.Add(GenAi.ErrorType, errorType);
            telemetry.RequestDuration.Record(latency.TotalSeconds, withError);
        }
        else
        {
            telemetry.RequestDuration.Record(latency.TotalSeconds, tags);
        }

        if (exchange.Usage.Reported && exchange.Route.MeteredTokens)
        {
            var input = tags;
            input.Add(GenAi.TokenType, "input");
            telemetry.TokenUsage.Record(exchange.Usage.InputTokens + exchange.Usage.CacheCreationInputTokens + exchange.Usage.CacheReadInputTokens, input);
            var output = tags;
            output.Add(GenAi.TokenType, "output");
            telemetry.TokenUsage.Record(exchange.Usage.OutputTokens, output);
        }

        if (ttfb is { } firstByte && exchange.Status < 400)
        {
            telemetry.TimeToFirstToken.Record(firstByte.TotalSeconds, tags);
        }

        if (exchange.SendStarted != 0)
        {
            telemetry.Overhead.Record(time.GetElapsedTime(exchange.Started, exchange.SendStarted).TotalSeconds, tags);
        }

        if (exchange.Attempts > 1)
        {
            telemetry.Retries.Add(exchange.Attempts - 1, tags);
        }

        if (activity is not null)
        {
            Describe(activity, exchange);
        }
    }

    private static void Describe(Activity activity, ModelExchange exchange)
    {
        activity.SetTag(GenAi.OperationName, exchange.Route.Operation);
        activity.SetTag(GenAi.System, GenAi.Anthropic);
        activity.SetTag(GenAi.ProviderName, GenAi.Anthropic);
        activity.SetTag("llmgateway.request_id", exchange.RequestId);
        activity.SetTag("llmgateway.credential_id", exchange.Credential.Id);
        activity.SetTag("http.response.status_code", exchange.Status);
        if (exchange.ResponseModel is { } responseModel)
        {
            activity.SetTag(GenAi.ResponseModel, responseModel);
        }

        if (exchange.Usage.Reported)
        {
            activity.SetTag(GenAi.UsageInputTokens, exchange.Usage.InputTokens);
            activity.SetTag(GenAi.UsageOutputTokens, exchange.Usage.OutputTokens);
            activity.SetTag(GenAi.UsageCacheReadInputTokens, exchange.Usage.CacheReadInputTokens);
            activity.SetTag(GenAi.UsageCacheCreationInputTokens, exchange.Usage.CacheCreationInputTokens);
        }

        if (exchange.StopReason is { } stopReason)
        {
            activity.SetTag(GenAi.ResponseFinishReasons, StopReasons.AsArray(stopReason));
        }

        if (exchange.Estimated)
        {
            activity.SetTag("llmgateway.usage.estimated", true);
        }

        if (exchange.ErrorType is { } error)
        {
            activity.SetTag(GenAi.ErrorType, error);
            activity.SetStatus(ActivityStatusCode.Error, error);
        }
    }
}
