using LlmGateway.TokenService.Authentication;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// Applies TokenService's migrations and stores the configured bootstrap admin key, retrying with back-off while
/// PostgreSQL is unreachable; the service is up meanwhile and answers writes with 503 (see <see cref="DatabaseReadiness"/>).
/// </summary>
public sealed partial class DatabaseInitializer(
    SqlMigrationRunner migrations,
    CredentialStore store,
    CredentialProjector projector,
    BootstrapAdminKey bootstrapAdmin,
    DatabaseReadiness readiness,
    TimeProvider time,
    ILogger<DatabaseInitializer> logger) : BackgroundService
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await migrations.ApplyAsync(TokenServiceSchema.Component, TokenServiceSchema.Migrations, stoppingToken);
                var stale = await store.SyncBootstrapAdminAsync(
                    bootstrapAdmin.IsConfigured ? bootstrapAdmin.ToCredential(time.GetUtcNow()) : null, stoppingToken);
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

                readiness.MarkReady();
                LogReady(attempt);
                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                readiness.LastError = e.Message;
                LogRetrying(e, attempt, (long)delay.TotalMilliseconds, e.Message);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Credential database ready (attempt {Attempt})")]
    private partial void LogReady(int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Credential database not ready (attempt {Attempt}), retrying in {DelayMs} ms: {Reason}")]
    private partial void LogRetrying(Exception exception, int attempt, long delayMs, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "No bootstrap admin key is configured (Admin:BootstrapKey); only admin keys issued through the admin API can administer")]
    private partial void LogNoBootstrapAdmin();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admin:BootstrapKey is not a gateway-format key (lgw_adm_…); it is accepted, but its unsalted SHA-256 is stored and projected like every credential's, so a short value could be guessed from it")]
    private partial void LogWeakBootstrapAdmin();
}
