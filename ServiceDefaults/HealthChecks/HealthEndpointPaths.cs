using Microsoft.AspNetCore.Http;

namespace LlmGateway.ServiceDefaults.HealthChecks;

/// <summary>The probe endpoints every service maps, and the tags that choose which checks each one runs.</summary>
public static class HealthEndpointPaths
{
    /// <summary>Readiness: every check.</summary>
    public const string Health = "/health";

    /// <summary>Liveness: the checks tagged <see cref="LiveTag"/>.</summary>
    public const string Alive = "/alive";

    public const string LiveTag = "live";

    public const string ReadyTag = "ready";

    public static bool IsHealthProbe(PathString path) =>
        path.StartsWithSegments(Health, StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments(Alive, StringComparison.OrdinalIgnoreCase);
}
