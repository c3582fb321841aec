using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Model;
using Npgsql;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>Local accounts and invites (tables <c>users</c>, <c>invites</c>), in the same transactions as the credentials they own.</summary>
public sealed partial class CredentialStore
{
    private const string SelectUser = """
        SELECT id, email, name, password_hash, role, organization_id, requests_per_minute, tokens_per_minute, max_concurrent,
               budget_usd, budget_period, failed_sign_ins, locked_until, disabled_at, created_at, last_sign_in_at, version
        FROM users
        """;

    // Registrations are serialized (a transaction-scoped advisory lock) so that exactly one account can be "the first".
    private const long RegistrationLock = 0x4c4757_5553_5231; // "LGWUSR1"

    /// <summary>
    /// Creates an account under <paramref name="policy"/>, deciding in one transaction (registrations serialized) whether
    /// it may register, with which role, and consuming the invite it used.
    /// </summary>
    public async Task<RegisterOutcome> RegisterAsync(UserAccount draft, RegistrationPolicy policy, Func<UserAccount, AuditRecord> audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            BigInt(lockCommand, "key", RegistrationLock);
            await lockCommand.ExecuteNonQueryAsync();
        }

        var now = Timestamps.NowMicroseconds(time);
        bool first;
        await using (var count = new NpgsqlCommand("SELECT NOT EXISTS (SELECT 1 FROM users)", connection, transaction))
        {
            first = (bool)(await count.ExecuteScalarAsync())!;
        }

        if (await FindUserAsync(connection, transaction, "email = @key", draft.Email, null) is not null)
        {
            return new RegisterOutcome(RegisterResult.EmailTaken, null);
        }

        var isAdminEmail = policy.AdminEmail is not null && policy.AdminEmail == draft.Email;
        // Without a configured admin email the first account is the admin; with one, only that email is.
        var becomesAdmin = isAdminEmail || (first && policy.AdminEmail is null);
        var role = becomesAdmin ? UserRoles.Admin : UserRoles.Member;
        string? inviteId = null;
        if (!becomesAdmin)
        {
            switch (policy.Mode)
            {
                case Options.RegistrationMode.Closed:
                    return new RegisterOutcome(RegisterResult.Closed, null);
                case Options.RegistrationMode.Invite when policy.InviteCodeHash is null:
                    return new RegisterOutcome(RegisterResult.InviteRequired, null);
            }
        }

        if (policy.InviteCodeHash is { } codeHash && !becomesAdmin)
        {
            await using var find = new NpgsqlCommand(
                "SELECT id, email, role, expires_at, used_at FROM invites WHERE code_hash = @hash FOR UPDATE", connection, transaction);
            Text(find, "hash", codeHash);
            await using (var reader = await find.ExecuteReaderAsync())
            {
                if (!await reader.ReadAsync())
                {
                    return new RegisterOutcome(RegisterResult.InviteInvalid, null);
                }

                var email = NullableString(reader, 1);
                if (!reader.IsDBNull(4) || reader.GetFieldValue<DateTimeOffset>(3) <= now || (email is not null && email != draft.Email))
                {
                    return new RegisterOutcome(RegisterResult.InviteInvalid, null);
                }

                inviteId = reader.GetString(0);
                role = reader.GetString(2);
            }

            await using var use = new NpgsqlCommand("UPDATE invites SET used_at = @now, used_by = @user WHERE id = @id", connection, transaction);
            Time(use, "now", now);
            Text(use, "user", draft.Id);
            Text(use, "id", inviteId);
            await use.ExecuteNonQueryAsync();
        }

        var account = draft with { Role = role, CreatedAt = now, LastSignInAt = now };
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO users (id, email, name, password_hash, role, organization_id, created_at, last_sign_in_at)
            VALUES (@id, @email, @name, @hash, @role, @organization_id, @created_at, @created_at)
            """, connection, transaction))
        {
            Text(insert, "id", account.Id);
            Text(insert, "email", account.Email);
            Text(insert, "name", account.Name);
            Text(insert, "hash", account.PasswordHash);
            Text(insert, "role", account.Role);
            Text(insert, "organization_id", account.OrganizationId);
            Time(insert, "created_at", account.CreatedAt);
            await insert.ExecuteNonQueryAsync();
        }

        var record = audit(account);
        await AppendAuditAsync(connection, transaction, record with
        {
            Details = Merge(record.Details, new { role, first_account = first, invite_id = inviteId }),
        });
        await transaction.CommitAsync();
        return new RegisterOutcome(RegisterResult.Registered, account);
    }

    public async Task<UserAccount?> FindUserByEmailAsync(string email, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await FindUserAsync(connection, null, "email = @key", email, null, cancellationToken);
    }

    public async Task<UserAccount?> FindUserByIdAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await FindUserAsync(connection, null, "id = @key", id, null, cancellationToken);
    }

    /// <summary>
    /// Records a sign-in attempt with its audit entry: a success clears the failure count (and stores a re-hashed
    /// password when the hasher asked for one); the <paramref name="maxFailures"/>th failure in a row locks the account
    /// for <paramref name="lockout"/>. Returns the account as it is afterwards.
    /// </summary>
    public async Task<UserAccount?> RecordSignInAsync(string userId, bool succeeded, string? rehashedPassword, int maxFailures, TimeSpan lockout, AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var now = Timestamps.NowMicroseconds(time);
        var current = await FindUserAsync(connection, transaction, "id = @key", userId, "FOR UPDATE");
        if (current is null)
        {
            return null;
        }

        var updated = succeeded
            ? current with { FailedSignIns = 0, LockedUntil = null, LastSignInAt = now, PasswordHash = rehashedPassword ?? current.PasswordHash }
            : current.FailedSignIns + 1 >= maxFailures
                ? current with { FailedSignIns = 0, LockedUntil = now + lockout }
                : current with { FailedSignIns = current.FailedSignIns + 1 };
        await using (var update = new NpgsqlCommand("""
            UPDATE users SET failed_sign_ins = @failed, locked_until = @locked_until, last_sign_in_at = @last, password_hash = @hash
            WHERE id = @id
            """, connection, transaction))
        {
            Integer(update, "failed", updated.FailedSignIns);
            Time(update, "locked_until", updated.LockedUntil);
            Time(update, "last", updated.LastSignInAt);
            Text(update, "hash", updated.PasswordHash);
            Text(update, "id", userId);
            await update.ExecuteNonQueryAsync();
        }

        var lockedNow = !succeeded && updated.LockedUntil is not null;
        await AppendAuditAsync(connection, transaction, lockedNow
            ? audit with { Details = Merge(audit.Details, new { locked_until = updated.LockedUntil }) }
            : audit);
        await transaction.CommitAsync();
        return updated;
    }

    /// <summary>Accounts by id (oldest first); <paramref name="afterId"/> continues after that account.</summary>
    public async Task<(List<UserAccount> Items, bool HasMore)> ListUsersAsync(int limit, string? afterId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"{SelectUser} WHERE @after IS NULL OR id > @after ORDER BY id LIMIT @limit", connection);
        Text(command, "after", afterId);
        Integer(command, "limit", limit + 1);
        var items = new List<UserAccount>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(ReadUser(reader));
        }

        var hasMore = items.Count > limit;
        return (hasMore ? items[..limit] : items, hasMore);
    }

    /// <summary>
    /// An admin's change to an account. New limits are re-projected onto every active credential the account owns (they
    /// carry the account in their lineage); disabling revokes all of them, broadcast like any revocation.
    /// </summary>
    public async Task<UserUpdateOutcome> UpdateUserAsync(string userId, string? role, bool? disabled, CredentialLimits? limits, AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var now = Timestamps.NowMicroseconds(time);
        var current = await FindUserAsync(connection, transaction, "id = @key", userId, "FOR UPDATE");
        if (current is null)
        {
            return new UserUpdateOutcome(null, 0);
        }

        var updated = current with
        {
            Role = role ?? current.Role,
            DisabledAt = disabled switch { true => current.DisabledAt ?? now, false => null, null => current.DisabledAt },
            Limits = limits is null ? current.Limits : ScopeRules.Normalize(limits),
            Version = current.Version + 1,
        };
        await using (var update = new NpgsqlCommand("""
            UPDATE users SET role = @role, disabled_at = @disabled_at, requests_per_minute = @rpm, tokens_per_minute = @tpm,
                max_concurrent = @concurrent, budget_usd = @budget, budget_period = @period, version = version + 1
            WHERE id = @id
            """, connection, transaction))
        {
            Text(update, "role", updated.Role);
            Time(update, "disabled_at", updated.DisabledAt);
            AddLimits(update, updated.Limits);
            Text(update, "id", userId);
            await update.ExecuteNonQueryAsync();
        }

        await using var owned = new NpgsqlCommand($"""
            {SelectCredential}
            WHERE c.owner_type = 'user' AND c.owner_id = @key AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > @now)
            ORDER BY c.id FOR UPDATE OF c
            """, connection, transaction);
        Text(owned, "key", userId);
        Time(owned, "now", now);
        var credentials = await ReadCredentialsAsync(owned, CancellationToken.None);
        var revoked = 0;
        if (updated.DisabledAt is not null && current.DisabledAt is null)
        {
            await MarkRevokedAsync(connection, transaction, credentials, audit.ActorId, $"account {userId} was disabled", now);
            await projector.RemoveAsync(credentials);
            revoked = credentials.Count;
        }
        else if (updated.Limits != current.Limits)
        {
            // Read after the UPDATE above, so each carries the new limits in its lineage.
            foreach (var credential in credentials)
            {
                await projector.ProjectChangeAsync(credential);
            }
        }

        await AppendAuditAsync(connection, transaction, audit with { Details = Merge(audit.Details, new { revoked_credentials = revoked }) });
        await transaction.CommitAsync();
        if ((updated.DisabledAt is null) != (current.DisabledAt is null))
        {
            await projector.PublishAccountStateAsync(userId, disabled: updated.DisabledAt is not null);
        }

        return new UserUpdateOutcome(updated, revoked);
    }

    public async Task CreateInviteAsync(string id, string codeHash, string? email, string role, DateTimeOffset expiresAt, AuditRecord audit)
    {
        await using var connection = await OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO invites (id, code_hash, email, role, created_at, created_by, expires_at)
            VALUES (@id, @hash, @email, @role, @created_at, @created_by, @expires_at)
            """, connection, transaction))
        {
            Text(insert, "id", id);
            Text(insert, "hash", codeHash);
            Text(insert, "email", email);
            Text(insert, "role", role);
            Time(insert, "created_at", audit.At);
            Text(insert, "created_by", audit.ActorId);
            Time(insert, "expires_at", expiresAt);
            await insert.ExecuteNonQueryAsync();
        }

        await AppendAuditAsync(connection, transaction, audit);
        await transaction.CommitAsync();
    }

    /// <summary>Active credentials an account owns (its keys and what was minted from them).</summary>
    public async Task<int> CountActiveOwnedAsync(string userId, CredentialKind kind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT count(*) FROM credentials
            WHERE owner_type = 'user' AND owner_id = @id AND kind = @kind AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
            """, connection);
        Text(command, "id", userId);
        Text(command, "kind", CredentialKindNames.Of(kind));
        Time(command, "now", time.GetUtcNow());
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<UserAccount?> FindUserAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string condition, string key, string? lockClause, CancellationToken cancellationToken = default)
    {
        await using var command = new NpgsqlCommand($"{SelectUser} WHERE {condition} {lockClause}", connection, transaction);
        Text(command, "key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadUser(reader) : null;
    }

    private static UserAccount ReadUser(NpgsqlDataReader r) => new()
    {
        Id = r.GetString(0),
        Email = r.GetString(1),
        Name = NullableString(r, 2),
        PasswordHash = r.GetString(3),
        Role = r.GetString(4),
        OrganizationId = r.GetString(5),
        Limits = new CredentialLimits
        {
            RequestsPerMinute = r.IsDBNull(6) ? null : r.GetInt32(6),
            TokensPerMinute = r.IsDBNull(7) ? null : r.GetInt32(7),
            MaxConcurrent = r.IsDBNull(8) ? null : r.GetInt32(8),
            BudgetUsd = r.IsDBNull(9) ? null : Normalize(r.GetDecimal(9)),
            BudgetPeriod = NullableString(r, 10),
        },
        FailedSignIns = r.GetInt32(11),
        LockedUntil = NullableTime(r, 12),
        DisabledAt = NullableTime(r, 13),
        CreatedAt = r.GetFieldValue<DateTimeOffset>(14),
        LastSignInAt = NullableTime(r, 15),
        Version = r.GetInt32(16),
    };
}

/// <summary>What a registration is allowed under: the configured mode and admin email, and the invite it presents (by hash).</summary>
public sealed record RegistrationPolicy(Options.RegistrationMode Mode, string? AdminEmail, string? InviteCodeHash);

public enum RegisterResult { Registered, EmailTaken, Closed, InviteRequired, InviteInvalid }

public readonly record struct RegisterOutcome(RegisterResult Result, UserAccount? User);

/// <summary>Null <see cref="User"/>: no such account.</summary>
public readonly record struct UserUpdateOutcome(UserAccount? User, int RevokedCredentials);
