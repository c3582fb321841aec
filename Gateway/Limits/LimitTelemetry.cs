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
        Admitted = meter.CreateCounter<long>("llmgateway.gateway.limits.admitted", "{request}",
            "Requests admitted, by where: lease (from this instance's leased quota, no Redis call) or redis (one admission script call).");
        LeasesTaken = meter.CreateCounter<long>("llmgateway.gateway.limits.leases.taken", "{lease}",
            "Quota leases granted to this instance with an admission (one per subject).");
        LeasesReturned = meter.CreateCounter<long>("llmgateway.gateway.limits.leases.returned", "{lease}",
            "Quota leases that gave back unused quota (idle, or the instance stopping).");
        Unsettled = meter.CreateCounter<long>("llmgateway.gateway.limits.unsettled", "{request}",
            "Settlements Redis could not take; their spend is kept in memory and added when it answers.");
    }

    public Counter<long> Fallback { get; }

    /// <summary>Admitted requests by where they were decided: <c>lease</c> (in memory) or <c>redis</c>.</summary>
    public Counter<long> Admitted { get; }

    public Counter<long> LeasesTaken { get; }

    public Counter<long> LeasesReturned { get; }

    public Counter<long> Rejected { get; }

    public Counter<long> Unsettled { get; }
}
