using System.Diagnostics;
using LlmGateway.Gateway.Telemetry;
using LlmGateway.Gateway.Usage;

namespace LlmGateway.Gateway.Pipeline.Steps;

/// <summary>
/// Step <i>record</i>, once per authenticated model request whatever its outcome: admission settled with the actual
/// usage, one usage event, the span and metrics (<see cref="ModelRequestTelemetry"/>) and one log line.
/// </summary>
internal sealed partial class ModelRequestRecorder(
    ModelRequestAdmission admission,
    UsageEmitter usage,
    ModelRequestTelemetry telemetry,
    TimeProvider time,
    ILogger<ModelRequestPipeline> logger)
{
    public async Task RecordAsync(ModelExchange exchange, Activity? activity)
    {
        var latency = time.GetElapsedTime(exchange.Started, time.GetTimestamp());
        await admission.SettleAsync(exchange);

        var ttfb = exchange.FirstByteWritten != 0 ? time.GetElapsedTime(exchange.Started, exchange.FirstByteWritten) : (TimeSpan?)null;
        await usage.EmitAsync(UsageRecords.ForModelRequest(exchange, time, latency, ttfb));
        telemetry.Record(exchange, activity, latency, ttfb);

        var credentialId = exchange.Credential.Id;
        if (exchange.Status < 400)
        {
            LogCompleted(logger, exchange.RequestId, exchange.Route.Path, exchange.Model ?? "-", exchange.Status, latency.TotalMilliseconds,
                credentialId, exchange.Usage.InputTokens, exchange.Usage.OutputTokens, exchange.Estimated);
        }
        else if (exchange.Upstream is null)
        {
            LogRejected(logger, exchange.RequestId, exchange.Route.Path, exchange.Status, exchange.ErrorType ?? "-", credentialId);
        }
        else
        {
            LogFailed(logger, exchange.RequestId, exchange.Route.Path, exchange.Model ?? "-", exchange.Status, exchange.ErrorType ?? "-",
                latency.TotalMilliseconds, credentialId);
        }
    }

    [LoggerMessage(1401, LogLevel.Debug, "{RequestId} {Route} {Model} → {Status} in {LatencyMs:F1} ms (credential {CredentialId}, input {InputTokens}, output {OutputTokens}, estimated {Estimated})")]
    private static partial void LogCompleted(ILogger logger, string requestId, string route, string model, int status, double latencyMs,
        string credentialId, long inputTokens, long outputTokens, bool estimated);

    [LoggerMessage(1402, LogLevel.Information, "{RequestId} {Route} rejected with {Status} {ErrorType} (credential {CredentialId})")]
    private static partial void LogRejected(ILogger logger, string requestId, string route, int status, string errorType, string credentialId);

    [LoggerMessage(1403, LogLevel.Information, "{RequestId} {Route} {Model} → {Status} {ErrorType} in {LatencyMs:F1} ms (credential {CredentialId})")]
    private static partial void LogFailed(ILogger logger, string requestId, string route, string model, int status, string errorType,
        double latencyMs, string credentialId);
}
