using LlmGateway.TokenService.Model;

namespace LlmGateway.TokenService.Options;

/// <summary>Configuration section <c>Projection</c>: keeping Redis's copy of the active credentials complete.</summary>
public sealed class ProjectionOptions
{
    public const string Section = "Projection";

    /// <summary>How often to check that the projection is intact (the <c>lgw:cred:epoch</c> sentinel), as a Go duration.</summary>
    public string CheckInterval { get; set; } = "5s";

    /// <summary>Credentials read from PostgreSQL per batch when re-projecting.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// A full re-projection also deletes the Redis keys of credentials revoked within this window, in case a revocation
    /// happened while Redis was unreachable.
    /// </summary>
    public string RevokedLookback { get; set; } = "720h";

    public TimeSpan CheckIntervalValue => GoDuration.Parse(CheckInterval);

    public TimeSpan RevokedLookbackValue => GoDuration.Parse(RevokedLookback);
}
