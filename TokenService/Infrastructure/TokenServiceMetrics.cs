using System.Diagnostics.Metrics;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>TokenService's meter, <c>LlmGateway.TokenService</c> (exported by ServiceDefaults' OpenTelemetry setup).</summary>
public sealed class TokenServiceMetrics
{
    public const string MeterName = "LlmGateway.TokenService";

    private readonly Counter<long> _issued;
    private readonly Counter<long> _revoked;
    private readonly Counter<long> _projectionFailures;
    private readonly Histogram<double> _reprojectionDuration;

    public TokenServiceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _issued = meter.CreateCounter<long>("llmgateway.tokenservice.credentials.issued", "{credential}", "Credentials issued, by kind and by how (admin, mint, bootstrap, refresh).");
        _revoked = meter.CreateCounter<long>("llmgateway.tokenservice.credentials.revoked", "{credential}", "Credentials revoked, including tokens revoked with the credential they were minted from.");
        _projectionFailures = meter.CreateCounter<long>("llmgateway.tokenservice.projection.failures", "{write}", "Redis projection writes that failed (a full re-projection follows).");
        _reprojectionDuration = meter.CreateHistogram<double>("llmgateway.tokenservice.projection.reprojection.duration", "s", "Duration of full re-projections of every active credential to Redis.");
    }

    public void Issued(CredentialKind kind, string via) =>
        _issued.Add(1, new KeyValuePair<string, object?>("kind", CredentialKindNames.Of(kind)), new KeyValuePair<string, object?>("via", via));

    public void Revoked(int count)
    {
        if (count > 0)
        {
            _revoked.Add(count);
        }
    }

    public void ProjectionFailed() => _projectionFailures.Add(1);

    public void Reprojected(TimeSpan duration) => _reprojectionDuration.Record(duration.TotalSeconds);
}
