using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// Whether the schema is in place. TokenService starts (and serves introspection of the bootstrap admin key, health and
/// clear 503s) while PostgreSQL is still unreachable; <see cref="DatabaseInitializer"/> marks it ready once migrations ran.
/// </summary>
public sealed class DatabaseReadiness : IHealthCheck
{
    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsReady => ready.Task.IsCompleted;

    /// <summary>Why the database is not ready yet (last start-up error), for the health report and 503 messages.</summary>
    public string? LastError { get; set; }

    public void MarkReady()
    {
        LastError = null;
        ready.TrySetResult();
    }

    public Task WaitAsync(CancellationToken cancellationToken) => ready.Task.WaitAsync(cancellationToken);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(IsReady
            ? HealthCheckResult.Healthy("Credential schema is up to date.")
            : HealthCheckResult.Unhealthy($"Credential schema not applied yet: {LastError ?? "starting"}"));
}

/// <summary>The credential database cannot serve the request now (unreachable, or migrations not applied yet): a 503.</summary>
public sealed class CredentialStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
