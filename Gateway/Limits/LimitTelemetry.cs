using System.Diagnostics.Metrics;
using LlmGateway.Gateway.Telemetry;

namespace LlmGateway.Gateway.Limits;

/// <summary>The limit metrics on the gateway's meter.</summary>
internal sealed class LimitTelemetry
{
    public LimitTelemetry(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayTelemetry.Name);
        Fallback = meter.CreateCounter<long>("llmgateway.gateway.limits.fallback", "{request}",
            "Requests decided without Redis, by limit (rate, budget) and the policy applied (per_instance, reject, allow).");
        Rejected = meter.CreateCounter<long>("llmgateway.gateway.limits.rejected", "{request}",
            "Requests refused by a limit (requests_per_minute, tokens_per_minute, concurrency, budget, unavailable) and whose (credential, ancestor, owner).");
        Unsettled = meter.CreateCounter<long>("llmgateway.gateway.limits.unsettled", "{request}",
            "Settlements Redis could not take; their spend is kept in memory and added when it answers.");
    }

    public Counter<long> Fallback { get; }

    public Counter<long> Rejected { get; }

    public Counter<long> Unsettled { get; }
}
