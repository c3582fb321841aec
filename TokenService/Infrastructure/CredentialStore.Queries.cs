using System.Text;
using System.Text.Json;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Model;
using Npgsql;

namespace LlmGateway.TokenService.Infrastructure;

public sealed partial class CredentialStore
{
    /// <summary>Newest first; <paramref name="afterId"/> continues after that credential (Anthropic's list paging).</summary>
    public async Task<(List<Credential> Items, bool HasMore)> ListAsync(CredentialFilter filter, int limit, string? afterId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var sql = new StringBuilder(SelectCredential).Append(" WHERE true");
        await using var command = new NpgsqlCommand { Connection = connection };
        if (filter.Kind is { } kind)
        {
            sql.Append(" AND c.kind = @kind");
            Text(command, "kind", CredentialKindNames.Of(kind));
        }

        if (filter.OwnerType is { } ownerType)
        {
            sql.Append(" AND c.owner_type = @owner_type");
            Text(command, "owner_type", ownerType);
        }

        if (filter.OwnerId is { } ownerId)
        {
            sql.Append(" AND c.owner_id = @owner_id");
            Text(command, "owner_id", ownerId);
        }

        if (filter.ParentId is { } parentId)
        {
            sql.Append(" AND c.parent_id = @parent_id");
            Text(command, "parent_id", parentId);
        }

        if (filter.DeviceId is { } deviceId)
        {
            sql.Append(" AND c.device_id = @device_id");
            Text(command, "device_id", deviceId);
        }

        sql.Append(filter.Status switch
        {
            CredentialStatus.Active => " AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > @now)",
            CredentialStatus.Revoked => " AND c.revoked_at IS NOT NULL",
            CredentialStatus.Expired => " AND c.revoked_at IS NULL AND c.expires_at <= @now",
            _ => "",
        });
        Time(command, "now", time.GetUtcNow());

        if (afterId is not null)
        {
            sql.Append(" AND c.id < @after_id");
            Text(command, "after_id", afterId);
        }

        sql.Append(" ORDER BY c.id DESC LIMIT @limit");
        Integer(command, "limit", limit + 1);
        command.CommandText = sql.ToString();
        var items = await ReadCredentialsAsync(command, cancellationToken);
        var hasMore = items.Count > limit;
        return (hasMore ? items[..limit] : items, hasMore);
    }

    /// <summary>Devices by id; <paramref name="afterId"/> continues after that device.</summary>
    public async Task<(List<DeviceView> Items, bool HasMore)> ListDevicesAsync(int limit, string? afterId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT d.device_id, d.app_version, d.first_seen_at, d.last_seen_at, d.bootstrap_count,
                   (SELECT count(*) FROM credentials c
                    WHERE c.device_id = d.device_id AND c.kind = 'device_token' AND c.revoked_at IS NULL AND c.expires_at > @now)
            FROM devices d
            WHERE @after_id IS NULL OR d.device_id > @after_id
            ORDER BY d.device_id
            LIMIT @limit
            """, connection);
        Time(command, "now", time.GetUtcNow());
        Text(command, "after_id", afterId);
        Integer(command, "limit", limit + 1);
        var items = new List<DeviceView>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new DeviceView(
                reader.GetString(0),
                NullableString(reader, 1),
                reader.GetFieldValue<DateTimeOffset>(2),
                reader.GetFieldValue<DateTimeOffset>(3),
                reader.GetInt64(4),
                reader.GetInt64(5)));
        }

        var hasMore = items.Count > limit;
        return (hasMore ? items[..limit] : items, hasMore);
    }

    /// <summary>Newest first; <paramref name="afterId"/> continues after that entry.</summary>
    public async Task<(List<AuditEntryView> Items, bool HasMore)> ListAuditAsync(AuditFilter filter, int limit, long? afterId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT id, at, actor_id, actor_hint, action, target, source_address, details::text
            FROM audit_log
            WHERE (@after_id IS NULL OR id < @after_id)
              AND (@action IS NULL OR action = @action)
              AND (@target IS NULL OR target = @target)
              AND (@actor_id IS NULL OR actor_id = @actor_id)
              AND (@from IS NULL OR at >= @from)
              AND (@to IS NULL OR at < @to)
            ORDER BY id DESC
            LIMIT @limit
            """, connection);
        BigInt(command, "after_id", afterId);
        Text(command, "action", filter.Action);
        Text(command, "target", filter.Target);
        Text(command, "actor_id", filter.ActorId);
        Time(command, "from", filter.From);
        Time(command, "to", filter.To);
        Integer(command, "limit", limit + 1);
        var items = new List<AuditEntryView>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            using var details = JsonDocument.Parse(reader.GetString(7));
            items.Add(new AuditEntryView(
                reader.GetInt64(0),
                reader.GetFieldValue<DateTimeOffset>(1),
                reader.GetString(2),
                NullableString(reader, 3),
                reader.GetString(4),
                NullableString(reader, 5),
                NullableString(reader, 6),
                details.RootElement.Clone()));
        }

        var hasMore = items.Count > limit;
        return (hasMore ? items[..limit] : items, hasMore);
    }

    /// <summary>Appends an audit entry on its own (for actions that change nothing in PostgreSQL, such as a re-projection).</summary>
    public async Task AppendAuditAsync(AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        await AppendAuditAsync(connection, transaction, audit);
        await transaction.CommitAsync();
    }

    /// <summary>
    /// Every active credential, in batches, each batch read <c>FOR SHARE</c> and handed to <paramref name="onBatch"/>
    /// before its transaction ends: a revocation of a credential in the batch waits, so its Redis delete lands after
    /// the batch's write, never before.
    /// </summary>
    public async Task ForEachActiveBatchAsync(int batchSize, string? excludeId, Func<IReadOnlyList<Credential>, Task> onBatch, CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"""
                {SelectCredential}
                WHERE c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > @now)
                  AND (@after IS NULL OR c.id > @after) AND (@exclude IS NULL OR c.id <> @exclude)
                ORDER BY c.id LIMIT @limit FOR SHARE OF c
                """, connection, transaction);
            Time(command, "now", time.GetUtcNow());
            Text(command, "after", after);
            Text(command, "exclude", excludeId);
            Integer(command, "limit", batchSize);
            var batch = await ReadCredentialsAsync(command, cancellationToken);
            if (batch.Count > 0)
            {
                await onBatch(batch);
            }

            await transaction.CommitAsync(cancellationToken);
            if (batch.Count < batchSize)
            {
                return;
            }

            after = batch[^1].Id;
        }
    }

    /// <summary>Hashes of credentials revoked since <paramref name="since"/> whose keys could still be in Redis.</summary>
    public async Task<List<string>> RecentlyRevokedHashesAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT hash FROM credentials
            WHERE revoked_at IS NOT NULL AND revoked_at >= @since AND (expires_at IS NULL OR expires_at > @now)
            """, connection);
        Time(command, "since", since);
        Time(command, "now", time.GetUtcNow());
        var hashes = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            hashes.Add(reader.GetString(0));
        }

        return hashes;
    }

    /// <summary>
    /// Makes the stored bootstrap admin credential match configuration (runs at start-up, before the store is ready).
    /// Returns the credential whose Redis key must go: the previous key's, when the operator changed or removed it.
    /// </summary>
    public async Task<Credential?> SyncBootstrapAdminAsync(Credential? configured, CancellationToken cancellationToken)
    {
        await using var connection = await OpenUncheckedAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var current = await FindAsync(connection, transaction, "c.id = @key", Authentication.BootstrapAdminKey.CredentialId, "FOR UPDATE OF c", cancellationToken);
        Credential? stale = null;
        if (configured is null)
        {
            if (current is { RevokedAt: null })
            {
                await MarkRevokedAsync(connection, transaction, [current], "configuration", "Admin:BootstrapKey was removed", Timestamps.NowMicroseconds(time));
                stale = current;
            }
        }
        else if (current is null)
        {
            await UpsertOwnerAsync(connection, transaction, configured.Owner);
            await InsertAsync(connection, transaction, configured);
        }
        else if (current.Hash != configured.Hash || current.RevokedAt is not null)
        {
            await using var update = new NpgsqlCommand("""
                UPDATE credentials SET hash = @hash, hint = @hint, revoked_at = NULL, revoked_by = NULL, revocation_reason = NULL,
                    version = version + 1
                WHERE id = @id
                """, connection, transaction);
            Text(update, "hash", configured.Hash);
            Text(update, "hint", configured.Hint);
            Text(update, "id", configured.Id);
            await update.ExecuteNonQueryAsync(cancellationToken);
            stale = current.Hash != configured.Hash ? current : null;
        }

        await transaction.CommitAsync(cancellationToken);
        return stale;
    }
}

public sealed record CredentialFilter(
    Contracts.Credentials.CredentialKind? Kind,
    string? OwnerType,
    string? OwnerId,
    string? ParentId,
    string? DeviceId,
    CredentialStatus? Status);

/// <summary>Audit entries matching every given field; the time window is [<see cref="From"/>, <see cref="To"/>).</summary>
public sealed record AuditFilter(string? Action, string? Target, string? ActorId, DateTimeOffset? From = null, DateTimeOffset? To = null);
