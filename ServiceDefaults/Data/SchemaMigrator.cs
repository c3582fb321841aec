using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace LlmGateway.ServiceDefaults.Data;

/// <summary>One versioned schema change. Versions of a component are positive and only ever grow; never edit an applied one.</summary>
/// <param name="Version">Position in the component's history (1, 2, 3, …).</param>
/// <param name="Name">What it does, recorded with it (e.g. <c>usage events and rollups</c>).</param>
/// <param name="Sql">The statements. Each migration runs in its own transaction, so it must be transactional
/// (no <c>CREATE INDEX CONCURRENTLY</c>).</param>
public sealed record SchemaMigration(int Version, string Name, string Sql);

/// <summary>
/// Applies a component's <see cref="SchemaMigration"/>s to PostgreSQL, each once, in order. Safe with several replicas
/// starting at once: a session-level <c>pg_advisory_lock</c> keyed by the component serializes them, and the applied
/// versions are recorded in <c>schema_migrations (component, version, name, checksum, applied_at)</c> in the same
/// transaction as the migration, so a crash leaves either nothing or the whole migration behind. A migration edited
/// after it was applied (its checksum differs) stops the schema from being reported current: the database no longer
/// matches what the code expects; add a new migration instead.
/// </summary>
/// <remarks>
/// The table and checksum (SHA-256 of the SQL with normalized line endings, trimmed) are the ones TokenService's
/// earlier runner wrote, so databases it migrated are taken over as they are.
/// Registered with <see cref="SchemaMigrationExtensions.AddSchemaMigrations"/>, it runs in the background at start-up and
/// retries until PostgreSQL answers (the service starts even when the database is down); the readiness check
/// <c>{component}_schema</c> stays unhealthy until the schema is current, and code that needs the schema awaits
/// <see cref="WhenMigrated"/>. Versions in the database that this build does not know (a newer replica ran first during
/// a rolling upgrade) are tolerated and logged.
/// </remarks>
public sealed partial class SchemaMigrator
{
    /// <summary>
    /// Guards the creation of the shared <c>schema_migrations</c> table across components: "lgw_migr", the key
    /// TokenService's earlier runner held while it migrated.
    /// </summary>
    public const long BookkeepingLockKey = 0x6C67775F6D696772;

    private readonly NpgsqlDataSource _dataSource;
    private readonly IReadOnlyList<SchemaMigration> _migrations;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _migrated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SchemaMigrator(NpgsqlDataSource dataSource, string component, IReadOnlyList<SchemaMigration> migrations, ILogger<SchemaMigrator> logger)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentException.ThrowIfNullOrWhiteSpace(component);
        ArgumentNullException.ThrowIfNull(migrations);
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version < 1 || (i > 0 && migrations[i].Version <= migrations[i - 1].Version))
            {
                throw new ArgumentException(
                    $"Migrations of '{component}' must have positive, strictly increasing versions; entry {i} has version {migrations[i].Version}.",
                    nameof(migrations));
            }
        }

        _dataSource = dataSource;
        Component = component;
        _migrations = migrations;
        _logger = logger;
    }

    public string Component { get; }

    /// <summary>The latest version this build knows (0 without migrations).</summary>
    public int TargetVersion => _migrations.Count == 0 ? 0 : _migrations[^1].Version;

    public bool IsMigrated => _migrated.Task.IsCompletedSuccessfully;

    /// <summary>The last failure of a migration attempt, while not yet migrated (for the health check).</summary>
    public string? LastError { get; private set; }

    /// <summary>Completes once the schema is at <see cref="TargetVersion"/> (or newer).</summary>
    public Task WhenMigrated(CancellationToken ct = default) => _migrated.Task.WaitAsync(ct);

    /// <summary>One attempt: brings the schema up to date and returns how many migrations this call applied.</summary>
    public async Task<int> MigrateAsync(CancellationToken ct = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await EnsureBookkeepingAsync(connection, ct).ConfigureAwait(false);

        var lockKey = LockKey(Component);
        await ExecuteAsync(connection, "SELECT pg_advisory_lock($1)", lockKey, ct, timeoutSeconds: 0).ConfigureAwait(false);
        try
        {
            var applied = await AppliedVersionsAsync(connection, ct).ConfigureAwait(false);
            var count = 0;
            foreach (var migration in _migrations)
            {
                if (applied.TryGetValue(migration.Version, out var recorded))
                {
                    if (recorded != Checksum(migration.Sql))
                    {
                        throw new InvalidOperationException(
                            $"Migration {Component} v{migration.Version} ({migration.Name}) was changed after it was applied. " +
                            "Add a new migration instead of editing an applied one.");
                    }

                    continue;
                }

                await ApplyAsync(connection, migration, ct).ConfigureAwait(false);
                count++;
            }

            var known = _migrations.Select(m => m.Version).ToHashSet();
            var unknown = applied.Keys.Where(v => !known.Contains(v)).Order().ToList();
            if (unknown.Count > 0)
            {
                LogNewerSchema(_logger, Component, string.Join(", ", unknown), TargetVersion);
            }

            LastError = null;
            _migrated.TrySetResult();
            LogSchemaCurrent(_logger, Component, TargetVersion, count);
            return count;
        }
        finally
        {
            // A pooled connection outlives this call: release the session lock explicitly. If the connection is
            // broken the server drops the lock with the session.
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await ExecuteAsync(connection, "SELECT pg_advisory_unlock($1)", lockKey, CancellationToken.None, timeoutSeconds: 30).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Retries <see cref="MigrateAsync"/> with capped exponential backoff until it succeeds or <paramref name="ct"/> fires.</summary>
    public async Task MigrateWithRetryAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        var maxDelay = TimeSpan.FromSeconds(10);
        for (var attempt = 1; !ct.IsCancellationRequested; attempt++)
        {
            try
            {
                await MigrateAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                LastError = ex.Message;
                // The first failure with its stack; later ones (PostgreSQL still down) in one line each.
                LogMigrationFailed(_logger, Component, attempt, delay.TotalSeconds, ex.Message, attempt == 1 ? ex : null);
            }

            await Task.Delay(delay, ct).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(maxDelay.Ticks, delay.Ticks * 2));
        }
    }

    /// <summary>What is recorded to detect an edited migration: lower-case hex SHA-256 of the SQL, line endings normalized, trimmed.</summary>
    public static string Checksum(string sql) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n").Trim())));

    /// <summary>A stable 64-bit advisory lock key for a name (the same in every process and version).</summary>
    public static long LockKey(string name) =>
        BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes("llmgateway:migrations:" + name)));

    private async Task ApplyAsync(NpgsqlConnection connection, SchemaMigration migration, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand(migration.Sql, connection, transaction) { CommandTimeout = 0 })
        {
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await using (var record = new NpgsqlCommand(
            "INSERT INTO schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)", connection, transaction))
        {
            record.Parameters.Add(new NpgsqlParameter { Value = Component });
            record.Parameters.Add(new NpgsqlParameter { Value = migration.Version });
            record.Parameters.Add(new NpgsqlParameter { Value = migration.Name });
            record.Parameters.Add(new NpgsqlParameter { Value = Checksum(migration.Sql) });
            await record.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
        LogApplied(_logger, Component, migration.Version, migration.Name);
    }

    private async Task<Dictionary<int, string>> AppliedVersionsAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations WHERE component = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Component });
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var versions = new Dictionary<int, string>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            versions[reader.GetInt32(0)] = reader.GetString(1);
        }

        return versions;
    }

    /// <summary>
    /// Creates <c>schema_migrations</c> once. Concurrent <c>CREATE TABLE IF NOT EXISTS</c> from two components can still
    /// collide in the catalog, so this takes a lock shared by every component.
    /// </summary>
    private static async Task EnsureBookkeepingAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('schema_migrations') IS NOT NULL", connection))
        {
            if ((bool)(await exists.ExecuteScalarAsync(ct).ConfigureAwait(false))!)
            {
                return;
            }
        }

        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction) { CommandTimeout = 0 })
        {
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = BookkeepingLockKey });
            await lockCommand.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await using (var create = new NpgsqlCommand(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                component  text        NOT NULL,
                version    integer     NOT NULL,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version)
            )
            """, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, long key, CancellationToken ct, int timeoutSeconds)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = timeoutSeconds };
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Schema of {Component}: applied migration {Version} ({Name})")]
    private static partial void LogApplied(ILogger logger, string component, int version, string name);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Schema of {Component} is at version {Version} ({Applied} applied now)")]
    private static partial void LogSchemaCurrent(ILogger logger, string component, int version, int applied);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Schema of {Component} has versions {Versions} this build (up to {Version}) does not know: a newer replica migrated first; continuing")]
    private static partial void LogNewerSchema(ILogger logger, string component, string versions, int version);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Schema of {Component}: migration attempt {Attempt} failed, retrying in {DelaySeconds:0.##}s: {Reason}")]
    private static partial void LogMigrationFailed(ILogger logger, string component, int attempt, double delaySeconds, string reason, Exception? exception);
}

/// <summary>Readiness: unhealthy until the component's schema is current.</summary>
internal sealed class SchemaMigrationHealthCheck(SchemaMigrator migrator) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(migrator.IsMigrated
            ? HealthCheckResult.Healthy($"schema of {migrator.Component} at version {migrator.TargetVersion}")
            : new HealthCheckResult(
                context.Registration.FailureStatus,
                $"schema of {migrator.Component} not migrated yet" + (migrator.LastError is { } e ? ": " + e : "")));
}

/// <summary>Runs the migrations at start-up without blocking the host's start.</summary>
internal sealed class SchemaMigrationService(SchemaMigrator migrator) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await migrator.MigrateWithRetryAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

public static class SchemaMigrationExtensions
{
    /// <summary>
    /// Registers a <see cref="SchemaMigrator"/> for <paramref name="component"/> (a keyed singleton, key = component)
    /// that migrates in the background at start-up, and its readiness check <c>{component}_schema</c>. Needs an
    /// <see cref="NpgsqlDataSource"/> (<c>AddNpgsqlDataSource</c>).
    /// </summary>
    public static TBuilder AddSchemaMigrations<TBuilder>(this TBuilder builder, string component, IReadOnlyList<SchemaMigration> migrations)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(component);
        builder.Services.AddKeyedSingleton(component, (provider, _) => new SchemaMigrator(
            provider.GetRequiredService<NpgsqlDataSource>(),
            component,
            migrations,
            provider.GetRequiredService<ILogger<SchemaMigrator>>()));
        builder.Services.AddSingleton<IHostedService>(provider =>
            new SchemaMigrationService(provider.GetRequiredKeyedService<SchemaMigrator>(component)));
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            $"{component}_schema",
            provider => new SchemaMigrationHealthCheck(provider.GetRequiredKeyedService<SchemaMigrator>(component)),
            failureStatus: HealthStatus.Unhealthy,
            tags: [HealthChecks.HealthEndpointPaths.ReadyTag]));
        return builder;
    }
}
