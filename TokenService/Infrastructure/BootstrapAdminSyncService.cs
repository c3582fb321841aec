using LlmGateway.ServiceDefaults.Data;
using LlmGateway.TokenService.Authentication;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// TokenService's start-up work once its schema is migrated (ServiceDefaults' <see cref="SchemaMigrator"/> migrates in the
/// background, retrying until PostgreSQL answers): stores the configured bootstrap admin key (or revokes the stored one
/// when it was removed), then opens the credential store (<see cref="DatabaseReadiness"/>), which also starts the
/// re-projection into Redis (<see cref="ProjectionMaintenanceService"/>). Retries with back-off while PostgreSQL is
/// unreachable; the service is up meanwhile and answers writes with 503.
/// </summary>
public sealed partial class BootstrapAdminSyncService(
    [FromKeyedServices(TokenServiceSchema.Component)] SchemaMigrator migrator,
    CredentialStore store,
    CredentialProjector projector,
    BootstrapAdminKey bootstrapAdmin,
    DatabaseReadiness readiness,
    TimeProvider time,
    ILogger<BootstrapAdminSyncService> logger) : BackgroundService
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await migrator.WhenMigrated(stoppingToken);
            var delay = TimeSpan.FromMilliseconds(250);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await SyncAsync(stoppingToken);
                    readiness.MarkReady();
                    LogReady(attempt);
                    return;
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    var reason = e is CredentialStoreUnavailableException { InnerException: { } inner } ? inner.Message : e.Message;
                    readiness.Failed(reason);
                    LogRetrying(e, attempt, (long)delay.TotalMilliseconds, reason);
                }

                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SyncAsync(CancellationToken cancellationToken)
    {
        var stale = await store.SyncBootstrapAdminAsync(
            bootstrapAdmin.IsConfigured ? bootstrapAdmin.ToCredential(time.GetUtcNow()) : null, cancellationToken);
        if (stale is not null)
        {
            await projector.RemoveAsync(stale);
        }

        if (!bootstrapAdmin.IsConfigured)
        {
            LogNoBootstrapAdmin();
        }
        else if (!bootstrapAdmin.IsGatewayFormat)
        {
            LogWeakBootstrapAdmin();
        }
    }

    [LoggerMessage(EventId = 2081, Level = LogLevel.Information, Message = "Credential store open (bootstrap admin key stored at attempt {Attempt})")]
    private partial void LogReady(int attempt);

    [LoggerMessage(EventId = 2082, Level = LogLevel.Warning, Message = "Storing the bootstrap admin key failed (attempt {Attempt}), retrying in {DelayMs} ms: {Reason}")]
    private partial void LogRetrying(Exception exception, int attempt, long delayMs, string reason);

    [LoggerMessage(EventId = 2083, Level = LogLevel.Information, Message = "No bootstrap admin key is configured (Admin:BootstrapKey); only admin keys issued through the admin API can administer")]
    private partial void LogNoBootstrapAdmin();

    [LoggerMessage(EventId = 2084, Level = LogLevel.Warning, Message = "Admin:BootstrapKey is not a gateway-format key (lgw_adm_…); it is accepted, but its unsalted SHA-256 is stored and projected like every credential's, so a short value could be guessed from it")]
    private partial void LogWeakBootstrapAdmin();
}
