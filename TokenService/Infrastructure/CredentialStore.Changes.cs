using System.Text.Json;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Apis;
using LlmGateway.TokenService.Model;
using Npgsql;
using NpgsqlTypes;

namespace LlmGateway.TokenService.Infrastructure;

public sealed partial class CredentialStore
{
    /// <summary>Stores a credential created by an admin (owner upserted), audits and projects it. Null when the hash exists.</summary>
    public async Task<Credential?> CreateAsync(Credential credential, AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var owner = await UpsertOwnerAsync(connection, transaction, credential.Owner);
        var stored = credential with { Owner = owner };
        try
        {
            await InsertAsync(connection, transaction, stored);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "credentials_hash_key")
        {
            return null;
        }

        // Read back: a credential owned by a local account carries the account in its lineage (see ReadCredential).
        stored = await FindAsync(connection, transaction, "c.id = @key", stored.Id, null, CancellationToken.None) ?? stored;
        await AppendAuditAsync(connection, transaction, audit);
        await projector.ProjectAsync(stored);
        await transaction.CommitAsync();
        return stored;
    }

    /// <summary>
    /// Stores a token minted from <see cref="Credential.ParentId"/> after re-checking, under a lock on the parent, that the
    /// parent is still active, still at least as wide, and below its quota of active minted tokens. Audited with the token.
    /// </summary>
    public async Task<MintOutcome> MintAsync(Credential child, int maxActivePerParent, AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var now = Timestamps.NowMicroseconds(time);
        var parent = await FindAsync(connection, transaction, "c.id = @key", child.ParentId!, "FOR SHARE OF c", CancellationToken.None);
        if (parent is null || parent.StatusAt(now) != CredentialStatus.Active)
        {
            return new MintOutcome(MintResult.ParentInactive, null, 0);
        }

        if (ScopeRules.WhyNotWithin(child.Scope, parent.Scope) is not null || (parent.ExpiresAt is { } limit && (child.ExpiresAt is null || child.ExpiresAt > limit)))
        {
            return new MintOutcome(MintResult.ParentChanged, null, 0);
        }

        await using (var count = new NpgsqlCommand(
            "SELECT count(*) FROM credentials WHERE parent_id = @parent AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)",
            connection, transaction))
        {
            Text(count, "parent", parent.Id);
            Time(count, "now", now);
            var active = (long)(await count.ExecuteScalarAsync())!;
            if (active >= maxActivePerParent)
            {
                return new MintOutcome(MintResult.TooManyActive, null, active);
            }
        }

        var stored = child with
        {
            Owner = parent.Owner,
            Ancestors = [new CredentialAncestor { Id = parent.Id, Kind = parent.Kind, Limits = parent.Scope.Limits }, .. parent.Ancestors ?? []],
        };
        await InsertAsync(connection, transaction, stored);
        await AppendAuditAsync(connection, transaction, audit);
        await projector.ProjectAsync(stored);
        await transaction.CommitAsync();
        return new MintOutcome(MintResult.Minted, stored, 0);
    }

    /// <summary>
    /// Stores a token minted by a person signed in with a JWT (no stored parent: <c>created_by</c> is the user id, the
    /// owner is the user, upserted). The quota of active minted tokens counts the person's unrevoked agent tokens.
    /// </summary>
    public async Task<MintOutcome> MintForUserAsync(Credential child, int maxActivePerUser, AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var now = Timestamps.NowMicroseconds(time);
        var owner = await UpsertOwnerAsync(connection, transaction, child.Owner);
        await using (var lockOwner = new NpgsqlCommand(
            "SELECT 1 FROM owners WHERE type = @type AND id = @id FOR UPDATE", connection, transaction))
        {
            // Serializes concurrent mints of one person, so the quota below cannot be overrun by a race.
            Text(lockOwner, "type", owner.Type);
            Text(lockOwner, "id", owner.Id);
            await lockOwner.ExecuteNonQueryAsync();
        }

        await using (var count = new NpgsqlCommand(
            "SELECT count(*) FROM credentials WHERE owner_type = @type AND owner_id = @id AND created_by = @id AND parent_id IS NULL " +
            "AND kind = 'agent_token' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)",
            connection, transaction))
        {
            Text(count, "type", owner.Type);
            Text(count, "id", owner.Id);
            Time(count, "now", now);
            var active = (long)(await count.ExecuteScalarAsync())!;
            if (active >= maxActivePerUser)
            {
                return new MintOutcome(MintResult.TooManyActive, null, active);
            }
        }

        var stored = child with { Owner = owner };
        await InsertAsync(connection, transaction, stored);
        await AppendAuditAsync(connection, transaction, audit);
        await projector.ProjectAsync(stored);
        await transaction.CommitAsync();
        return new MintOutcome(MintResult.Minted, stored, 0);
    }

    /// <summary>Stores a device token from <c>/bootstrap</c>: device owner and device row upserted, audited.</summary>
    public async Task<Credential> IssueDeviceTokenAsync(Credential token, AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var owner = await UpsertOwnerAsync(connection, transaction, token.Owner);
        await TouchDeviceAsync(connection, transaction, token.DeviceId!, token.AppVersion, token.CreatedAt, bootstrapped: true);
        var stored = token with { Owner = owner };
        await InsertAsync(connection, transaction, stored);
        await AppendAuditAsync(connection, transaction, audit);
        await projector.ProjectAsync(stored);
        await transaction.CommitAsync();
        return stored;
    }

    /// <summary>
    /// Replaces a device token: the new one is stored and projected, the old one is marked replaced and keeps working
    /// only for <paramref name="grace"/> (requests in flight), after which its Redis key expires. A token can be
    /// refreshed once; a second refresh of the same token (a copy being replayed) is refused.
    /// </summary>
    public async Task<RefreshOutcome> RefreshDeviceTokenAsync(string currentId, Func<Credential, Credential> replacementFor, TimeSpan grace, Func<Credential, AuditRecord> audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var now = Timestamps.NowMicroseconds(time);
        var current = await FindAsync(connection, transaction, "c.id = @key", currentId, "FOR UPDATE OF c", CancellationToken.None);
        if (current is null || current.StatusAt(now) != CredentialStatus.Active)
        {
            return new RefreshOutcome(RefreshResult.Inactive, null);
        }

        if (current.ReplacedBy is not null)
        {
            return new RefreshOutcome(RefreshResult.AlreadyRefreshed, null);
        }

        var replacement = replacementFor(current);
        await InsertAsync(connection, transaction, replacement);
        var graceEnd = now + grace;
        var retired = current with
        {
            ReplacedBy = replacement.Id,
            ExpiresAt = current.ExpiresAt is { } e && e < graceEnd ? e : graceEnd,
            Version = current.Version + 1,
        };

        await using (var update = new NpgsqlCommand(
            "UPDATE credentials SET replaced_by = @replaced_by, expires_at = @expires_at, version = version + 1 WHERE id = @id",
            connection, transaction))
        {
            Text(update, "replaced_by", retired.ReplacedBy);
            Time(update, "expires_at", retired.ExpiresAt);
            Text(update, "id", retired.Id);
            await update.ExecuteNonQueryAsync();
        }

        await TouchDeviceAsync(connection, transaction, replacement.DeviceId!, replacement.AppVersion, now, bootstrapped: false);
        await AppendAuditAsync(connection, transaction, audit(replacement));
        await projector.ProjectAsync(replacement);
        await projector.ProjectChangeAsync(retired);
        await transaction.CommitAsync();
        return new RefreshOutcome(RefreshResult.Refreshed, replacement);
    }

    /// <summary>
    /// Applies an admin's change to <paramref name="updated"/>, refused when the row changed since
    /// <see cref="Credential.Version"/> was read or when a minted credential would no longer fit its parent. Tokens minted
    /// from it (at any depth) that no longer fit the new scope or expiry are revoked with it, so narrowing a key can
    /// never leave wider tokens behind.
    /// </summary>
    public async Task<UpdateOutcome> UpdateAsync(Credential updated, AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var now = Timestamps.NowMicroseconds(time);
        var current = await FindAsync(connection, transaction, "c.id = @key", updated.Id, "FOR UPDATE OF c", CancellationToken.None);
        if (current is null)
        {
            return new UpdateOutcome(UpdateResult.NotFound, null, 0);
        }

        if (current.Version != updated.Version)
        {
            return new UpdateOutcome(UpdateResult.Conflict, null, 0);
        }

        if (current.StatusAt(now) != CredentialStatus.Active)
        {
            return new UpdateOutcome(UpdateResult.Inactive, current, 0);
        }

        if (current.ParentId is { } parentId)
        {
            var parent = await FindAsync(connection, transaction, "c.id = @key", parentId, "FOR SHARE OF c", CancellationToken.None);
            if (parent is null || ScopeRules.WhyNotWithin(updated.Scope, parent.Scope) is not null
                || (parent.ExpiresAt is { } parentExpiry && (updated.ExpiresAt is null || updated.ExpiresAt > parentExpiry)))
            {
                return new UpdateOutcome(UpdateResult.NotWithinParent, current, 0);
            }
        }

        var stored = updated with { Version = current.Version + 1 };
        await using (var update = new NpgsqlCommand("""
            UPDATE credentials SET name = @name, models = @models, routes = @routes,
                requests_per_minute = @rpm, tokens_per_minute = @tpm, max_concurrent = @concurrent,
                budget_usd = @budget, budget_period = @period, expires_at = @expires_at, version = version + 1
            WHERE id = @id
            """, connection, transaction))
        {
            Text(update, "name", stored.Name);
            TextArray(update, "models", stored.Scope.Models);
            TextArray(update, "routes", stored.Scope.Routes);
            AddLimits(update, stored.Scope.Limits);
            Time(update, "expires_at", stored.ExpiresAt);
            Text(update, "id", stored.Id);
            await update.ExecuteNonQueryAsync();
        }

        // Walk the minted tree from the changed credential: a token that no longer fits its (possibly just changed)
        // parent is revoked, and so is everything minted from it.
        var descendants = await LockActiveDescendantsAsync(connection, transaction, stored.Id, now);
        var fits = new Dictionary<string, Credential> { [stored.Id] = stored };
        var revoke = new List<Credential>();
        var byParent = descendants.ToLookup(d => d.ParentId!);
        var queue = new Queue<string>([stored.Id]);
        while (queue.TryDequeue(out var treeParentId))
        {
            foreach (var child in byParent[treeParentId])
            {
                var parentKept = fits.TryGetValue(treeParentId, out var treeParent);
                if (parentKept && ScopeRules.WhyNotWithin(child.Scope, treeParent!.Scope) is null
                    && (treeParent.ExpiresAt is not { } limit || (child.ExpiresAt is { } e && e <= limit)))
                {
                    fits[child.Id] = child;
                }
                else
                {
                    revoke.Add(child);
                }

                queue.Enqueue(child.Id);
            }
        }

        await MarkRevokedAsync(connection, transaction, revoke, audit.ActorId, $"no longer within {stored.Id} after it was changed", now);
        await AppendAuditAsync(connection, transaction, audit with { Details = Merge(audit.Details, new { revoked_descendants = revoke.Count }) });
        await projector.ProjectChangeAsync(stored);
        await projector.RemoveAsync(revoke);
        if (stored.Scope.Limits != current.Scope.Limits)
        {
            // Every token minted from it carries its limits in its lineage (read after the UPDATE above).
            foreach (var kept in fits.Values.Where(d => d.Id != stored.Id))
            {
                await projector.ProjectChangeAsync(kept);
            }
        }

        await transaction.CommitAsync();
        return new UpdateOutcome(UpdateResult.Updated, stored, revoke.Count);
    }

    /// <summary>
    /// Revokes a credential and every token minted from it (at any depth): rows marked, Redis keys deleted and
    /// <c>revoked:{hash}</c> broadcast before the commit. Revoking a revoked credential changes nothing.
    /// </summary>
    public async Task<RevokeOutcome> RevokeAsync(string id, string? reason, AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var now = Timestamps.NowMicroseconds(time);
        var current = await FindAsync(connection, transaction, "c.id = @key", id, "FOR UPDATE OF c", CancellationToken.None);
        if (current is null)
        {
            return new RevokeOutcome(null, 0, false, 0);
        }

        if (current.RevokedAt is not null)
        {
            return new RevokeOutcome(current, 0, false, 0);
        }

        var descendants = await LockActiveDescendantsAsync(connection, transaction, id, now);
        var revoked = current with { RevokedAt = now, RevokedBy = audit.ActorId, RevocationReason = reason, Version = current.Version + 1 };
        await MarkRevokedAsync(connection, transaction, [current], audit.ActorId, reason, now);
        await MarkRevokedAsync(connection, transaction, descendants, audit.ActorId, $"minted from revoked {id}", now);
        await AppendAuditAsync(connection, transaction, audit with { Details = Merge(audit.Details, new { revoked_descendants = descendants.Count }) });
        var notified = await projector.RemoveAsync([revoked, .. descendants]);
        await transaction.CommitAsync();
        return new RevokeOutcome(revoked, descendants.Count, true, notified);
    }

    /// <summary>
    /// Locks every active credential minted (directly or transitively) from <paramref name="rootId"/>. Repeated until no
    /// new one appears: a mint that committed while we waited for its row lock is seen by the next round, and no mint
    /// can commit under a locked parent afterwards.
    /// </summary>
    private static async Task<List<Credential>> LockActiveDescendantsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string rootId, DateTimeOffset now)
    {
        var previous = -1;
        List<Credential> descendants = [];
        for (var round = 0; round < 5 && descendants.Count != previous; round++)
        {
            previous = descendants.Count;
            await using var command = new NpgsqlCommand($"""
                WITH RECURSIVE tree(id) AS (
                    SELECT id FROM credentials
                    WHERE parent_id = @root AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
                    UNION
                    SELECT c.id FROM credentials c JOIN tree t ON c.parent_id = t.id
                    WHERE c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > @now))
                {SelectCredential} WHERE c.id IN (SELECT id FROM tree) ORDER BY c.id FOR UPDATE OF c
                """, connection, transaction);
            Text(command, "root", rootId);
            Time(command, "now", now);
            descendants = await ReadCredentialsAsync(command, CancellationToken.None);
        }

        return descendants;
    }

    private static async Task MarkRevokedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<Credential> credentials, string actor, string? reason, DateTimeOffset now)
    {
        if (credentials.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand("""
            UPDATE credentials SET revoked_at = @now, revoked_by = @actor, revocation_reason = @reason, version = version + 1
            WHERE id = ANY(@ids) AND revoked_at IS NULL
            """, connection, transaction);
        Time(command, "now", now);
        Text(command, "actor", actor);
        Text(command, "reason", reason);
        TextArray(command, "ids", credentials.Select(c => c.Id));
        await command.ExecuteNonQueryAsync();
    }

    private static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Credential c)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO credentials (id, hash, kind, hint, name, external, owner_type, owner_id, parent_id, agent_name, device_id,
                app_version, models, routes, requests_per_minute, tokens_per_minute, max_concurrent, budget_usd, budget_period,
                created_at, created_by, expires_at, revoked_at, version)
            VALUES (@id, @hash, @kind, @hint, @name, @external, @owner_type, @owner_id, @parent_id, @agent_name, @device_id,
                @app_version, @models, @routes, @rpm, @tpm, @concurrent, @budget, @period,
                @created_at, @created_by, @expires_at, @revoked_at, @version)
            """, connection, transaction);
        Text(command, "id", c.Id);
        Text(command, "hash", c.Hash);
        Text(command, "kind", CredentialKindNames.Of(c.Kind));
        Text(command, "hint", c.Hint);
        Text(command, "name", c.Name);
        command.Parameters.Add(new NpgsqlParameter("external", NpgsqlDbType.Boolean) { Value = c.External });
        Text(command, "owner_type", c.Owner.Type);
        Text(command, "owner_id", c.Owner.Id);
        Text(command, "parent_id", c.ParentId);
        Text(command, "agent_name", c.AgentName);
        Text(command, "device_id", c.DeviceId);
        Text(command, "app_version", c.AppVersion);
        TextArray(command, "models", c.Scope.Models);
        TextArray(command, "routes", c.Scope.Routes);
        AddLimits(command, c.Scope.Limits);
        Time(command, "created_at", c.CreatedAt);
        Text(command, "created_by", c.CreatedBy);
        Time(command, "expires_at", c.ExpiresAt);
        Time(command, "revoked_at", c.RevokedAt);
        Integer(command, "version", c.Version);
        await command.ExecuteNonQueryAsync();
    }

    private static void AddLimits(NpgsqlCommand command, CredentialLimits limits)
    {
        Integer(command, "rpm", limits.RequestsPerMinute);
        Integer(command, "tpm", limits.TokensPerMinute);
        Integer(command, "concurrent", limits.MaxConcurrent);
        command.Parameters.Add(new NpgsqlParameter("budget", NpgsqlDbType.Numeric) { Value = (object?)limits.BudgetUsd ?? DBNull.Value });
        Text(command, "period", limits.BudgetPeriod);
    }

    /// <summary>Creates the owner (and its organisation) if new; a given name or organisation updates an existing owner.</summary>
    private static async Task<CredentialOwner> UpsertOwnerAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CredentialOwner owner)
    {
        if (owner.OrganizationId is { } organization && !(owner.Type == "organization" && owner.Id == organization))
        {
            await using var parent = new NpgsqlCommand(
                "INSERT INTO owners (type, id) VALUES ('organization', @id) ON CONFLICT (type, id) DO NOTHING", connection, transaction);
            Text(parent, "id", organization);
            await parent.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand("""
            INSERT INTO owners (type, id, name, organization_id) VALUES (@type, @id, @name, @organization_id)
            ON CONFLICT (type, id) DO UPDATE SET
                name = COALESCE(EXCLUDED.name, owners.name),
                organization_id = COALESCE(EXCLUDED.organization_id, owners.organization_id)
            RETURNING name, organization_id
            """, connection, transaction);
        Text(command, "type", owner.Type);
        Text(command, "id", owner.Id);
        Text(command, "name", owner.Name);
        Text(command, "organization_id", owner.OrganizationId);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return owner with { Name = NullableString(reader, 0), OrganizationId = NullableString(reader, 1) };
    }

    private static async Task TouchDeviceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string deviceId, string? appVersion, DateTimeOffset now, bool bootstrapped)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO devices (device_id, app_version, first_seen_at, last_seen_at, bootstrap_count)
            VALUES (@device_id, @app_version, @now, @now, @count)
            ON CONFLICT (device_id) DO UPDATE SET
                app_version = COALESCE(EXCLUDED.app_version, devices.app_version),
                last_seen_at = EXCLUDED.last_seen_at,
                bootstrap_count = devices.bootstrap_count + EXCLUDED.bootstrap_count
            """, connection, transaction);
        Text(command, "device_id", deviceId);
        Text(command, "app_version", appVersion);
        Time(command, "now", now);
        BigInt(command, "count", bootstrapped ? 1 : 0);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task AppendAuditAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AuditRecord audit)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO audit_log (at, actor_id, actor_hint, action, target, source_address, details)
            VALUES (@at, @actor_id, @actor_hint, @action, @target, @source_address, @details)
            """, connection, transaction);
        Time(command, "at", audit.At);
        Text(command, "actor_id", audit.ActorId);
        Text(command, "actor_hint", audit.ActorHint);
        Text(command, "action", audit.Action);
        Text(command, "target", audit.Target);
        Text(command, "source_address", audit.SourceAddress);
        command.Parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Jsonb)
        {
            Value = JsonSerializer.Serialize(audit.Details, ApiJson.Options),
        });
        await command.ExecuteNonQueryAsync();
    }

    private static JsonElement Merge(object details, object extra)
    {
        var merged = new Dictionary<string, JsonElement>();
        foreach (var part in new[] { details, extra })
        {
            var element = JsonSerializer.SerializeToElement(part, ApiJson.Options);
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    merged[property.Name] = property.Value;
                }
            }
        }

        return JsonSerializer.SerializeToElement(merged, ApiJson.Options);
    }
}

/// <summary>One admin action for <c>audit_log</c>. <see cref="Details"/> is serialized to JSON; it must never hold a secret.</summary>
public sealed record AuditRecord(DateTimeOffset At, string ActorId, string? ActorHint, string Action, string? Target, string? SourceAddress, object Details);

public enum MintResult { Minted, ParentInactive, ParentChanged, TooManyActive }

public readonly record struct MintOutcome(MintResult Result, Credential? Credential, long ActiveCount);

public enum RefreshResult { Refreshed, Inactive, AlreadyRefreshed }

public readonly record struct RefreshOutcome(RefreshResult Result, Credential? Replacement);

public enum UpdateResult { Updated, NotFound, Conflict, Inactive, NotWithinParent }

public readonly record struct UpdateOutcome(UpdateResult Result, Credential? Credential, int RevokedDescendants);

/// <summary>Null <see cref="Credential"/>: no such credential. <see cref="RevokedNow"/> is false when it was already revoked.</summary>
/// <param name="GatewaysNotified">
/// Gateway instances that received the revocation broadcast; null when Redis was unreachable and none was told.
/// </param>
public readonly record struct RevokeOutcome(Credential? Credential, int RevokedDescendants, bool RevokedNow, long? GatewaysNotified);
