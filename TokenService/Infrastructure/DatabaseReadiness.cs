using LlmGateway.ServiceDefaults.Data;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// Whether the credential store takes requests: the schema is migrated (<see cref="SchemaMigrator"/>, component
/// <see cref="TokenServiceSchema.Component"/>) and the bootstrap admin key is stored (<see cref="BootstrapAdminSyncService"/>
/// marks it ready). TokenService starts (and serves introspection of the bootstrap admin key, health and clear 503s)
/// while PostgreSQL is still unreachable.
/// </summary>
public sealed class DatabaseReadiness([FromKeyedServices(TokenServiceSchema.Component)] SchemaMigrator migrator) : IHealthCheck
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _startupError;

    public bool IsReady => _ready.Task.IsCompleted;

    /// <summary>Why the store is not ready yet (the last start-up error, migration or bootstrap key), for the health report and 503 messages.</summary>
    public string? LastError => IsReady ? null : _startupError ?? migrator.LastError;

    /// <summary>Records why storing the bootstrap admin key failed (migration failures are the migrator's).</summary>
    public void Failed(string reason) => _startupError = reason;

    public void MarkReady()
    {
        _startupError = null;
        _ready.TrySetResult();
    }

    public Task WaitAsync(CancellationToken cancellationToken) => _ready.Task.WaitAsync(cancellationToken);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(IsReady
            ? HealthCheckResult.Healthy("The credential store is open.")
            : new HealthCheckResult(context.Registration.FailureStatus,
                migrator.IsMigrated
                    ? $"Storing the bootstrap admin key: {LastError ?? "starting"}"
                    : $"Waiting for the {TokenServiceSchema.Component} schema: {LastError ?? "starting"}"));
}

/// <summary>The credential database cannot serve the request now (unreachable, or migrations not applied yet): a 503.</summary>
public sealed class CredentialStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
