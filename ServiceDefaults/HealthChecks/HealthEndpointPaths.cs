using Microsoft.AspNetCore.Http;

namespace LlmGateway.ServiceDefaults.HealthChecks;

/// <summary>The probe routes every service maps (<c>MapDefaultEndpoints</c>) and the tags that select checks.</summary>
public static class HealthEndpointPaths
{
    /// <summary>Readiness: every registered check.</summary>
    public const string Health = "/health";

    /// <summary>Liveness: only the checks tagged <see cref="LiveTag"/>.</summary>
    public const string Alive = "/alive";

    /// <summary>Checks that tell whether the process itself is alive (at least "self").</summary>
    public const string LiveTag = "live";

    /// <summary>Checks of dependencies (Redis, PostgreSQL) that tell whether the service can take traffic.</summary>
    public const string ReadyTag = "ready";

    internal static bool IsHealthProbe(PathString path) =>
        path.StartsWithSegments(Health, StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments(Alive, StringComparison.OrdinalIgnoreCase);
}
