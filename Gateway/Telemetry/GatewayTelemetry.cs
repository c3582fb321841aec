using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LlmGateway.Gateway.Telemetry;

/// <summary>
/// The gateway's span source and meter, both named <c>LlmGateway.Gateway</c>, with the OpenTelemetry GenAI semantic
/// conventions (gen_ai.* attributes and metrics) plus the gateway's own overhead.
/// </summary>
internal sealed class GatewayTelemetry : IDisposable
{
    public const string Name = "LlmGateway.Gateway";

    public static readonly ActivitySource Source = new(Name);

    private readonly Meter _meter;

    public GatewayTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        TokenUsage = _meter.CreateHistogram<long>(
            "gen_ai.client.token.usage", "{token}", "Tokens used per request, by gen_ai.token.type (input/output).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304] });
        RequestDuration = _meter.CreateHistogram<double>(
            "gen_ai.server.request.duration", "s", "Duration of model requests through the gateway.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });
        TimeToFirstToken = _meter.CreateHistogram<double>(
            "gen_ai.server.time_to_first_token", "s", "Time until the first response bytes reached the client.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0] });
        Overhead = _meter.CreateHistogram<double>(
            "llmgateway.gateway.overhead", "s",
            "Time the gateway itself adds: from request arrival to the upstream send, plus from the upstream's response headers to the client's.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1] });
        Retries = _meter.CreateCounter<long>("llmgateway.gateway.upstream.retries", "{retry}", "Upstream attempts beyond the first.");
        UsageSpooled = _meter.CreateCounter<long>("llmgateway.gateway.usage.spooled", "{event}", "Usage events written to the local spool because Redis was unavailable.");
    }

    public Histogram<long> TokenUsage { get; }

    public Histogram<double> RequestDuration { get; }

    public Histogram<double> TimeToFirstToken { get; }

    public Histogram<double> Overhead { get; }

    public Counter<long> Retries { get; }

    public Counter<long> UsageSpooled { get; }

    public void Dispose() => _meter.Dispose();
}

/// <summary>GenAI semantic-convention names.</summary>
internal static class GenAi
{
    public const string System = "gen_ai.system";
    public const string ProviderName = "gen_ai.provider.name";
    public const string OperationName = "gen_ai.operation.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string RequestMaxTokens = "gen_ai.request.max_tokens";
    public const string ResponseModel = "gen_ai.response.model";
    public const string ResponseFinishReasons = "gen_ai.response.finish_reasons";
    public const string UsageInputTokens = "gen_ai.usage.input_tokens";
    public const string UsageOutputTokens = "gen_ai.usage.output_tokens";
    public const string UsageCacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens";
    public const string UsageCacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens";
    public const string TokenType = "gen_ai.token.type";
    public const string ErrorType = "error.type";
    public const string Anthropic = "anthropic";
}
