using LlmGateway.TokenService.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace LlmGateway.TokenService.UpstreamOAuth;

/// <summary>What an admin sees of an upstream account: never its tokens.</summary>
public sealed record UpstreamAccountView(
    string Id, string? Label, string Status, bool Connected, DateTimeOffset? ExpiresAt, DateTimeOffset? LastRefreshAt,
    string? LastError, DateTimeOffset CreatedAt, DateTimeOffset? ConnectedAt, IReadOnlyList<string> AssignedOrganizations,
    IReadOnlyList<string> AssignedCredentials);

/// <summary>A current access token for the Gateway, or why there is none.</summary>
public sealed record AccessTokenResult(string? AccessToken, DateTimeOffset? ExpiresAt, string? Problem, bool NeedsReconnect)
{
    public override string ToString() => $"AccessTokenResult(expires {ExpiresAt:O}, problem {Problem})";
}

/// <summary>
/// Upstream OAuth accounts in PostgreSQL (tables <c>upstream_accounts</c>, <c>upstream_oauth_pending</c>,
/// <c>upstream_account_assignments</c>; see <see cref="TokenServiceSchema"/>). Tokens and code verifiers are stored only as
/// Data Protection payloads (purpose <see cref="Purpose"/>); the key ring is in PostgreSQL too, so any replica reads them.
/// </summary>
/// <remarks>
/// A refresh runs with the account's row locked (<c>SELECT … FOR UPDATE</c>) and re-reads the row after taking the
/// lock: however many Gateway instances and TokenService replicas ask at once, one calls the token endpoint and the
/// others find the fresh token when the lock is released. A PostgreSQL row lock rather than a Redis lock because
/// PostgreSQL holds the tokens: lock, check and write are one transaction, a crashed holder releases it with its
/// connection, and there is no lease to expire under a slow token endpoint (the rotated refresh token would be lost).
/// </remarks>
public sealed class UpstreamAccountStore(
    NpgsqlDataSource dataSource,
    DatabaseReadiness readiness,
    IDataProtectionProvider protection,
    UpstreamTokenClient tokenClient,
    IOptions<UpstreamOAuthOptions> options,
    TimeProvider time)
{
    public const string Purpose = "LlmGateway.UpstreamOAuth.Tokens.v1";

    private readonly IDataProtector _protector = protection.CreateProtector(Purpose);

    public async Task StartConnectAsync(string accountId, string? label, string state, string verifier, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            DELETE FROM upstream_oauth_pending WHERE expires_at < @now;
            INSERT INTO upstream_oauth_pending (state, account_id, label, code_verifier, expires_at) VALUES (@state, @account, @label, @verifier, @expires);
            """, connection);
        Text(command, "state", state);
        Text(command, "account", accountId);
        Text(command, "label", label);
        Text(command, "verifier", _protector.Protect(verifier));
        Time(command, "now", time.GetUtcNow());
        Time(command, "expires", time.GetUtcNow() + options.Value.PendingLifetime);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Takes (deletes) a started connection: a state is usable once, and only before it expires.</summary>
    public async Task<(string AccountId, string? Label, string Verifier)?> TakePendingAsync(string state, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "DELETE FROM upstream_oauth_pending WHERE state = @state RETURNING account_id, label, code_verifier, expires_at", connection);
        Text(command, "state", state);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken) || reader.GetFieldValue<DateTimeOffset>(3) < time.GetUtcNow())
        {
            return null;
        }

        return (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), _protector.Unprotect(reader.GetString(2)));
    }

    public async Task SaveConnectedAsync(string accountId, string? label, UpstreamTokens tokens, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            INSERT INTO upstream_accounts (id, label, status, access_token, refresh_token, expires_at, last_refresh_at, last_error, created_at, connected_at)
            VALUES (@id, @label, 'connected', @access, @refresh, @expires, NULL, NULL, @now, @now)
            ON CONFLICT (id) DO UPDATE SET label = COALESCE(EXCLUDED.label, upstream_accounts.label), status = 'connected',
                access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token, expires_at = EXCLUDED.expires_at,
                last_error = NULL, connected_at = EXCLUDED.connected_at, disconnected_at = NULL
            """, connection);
        Text(command, "id", accountId);
        Text(command, "label", label);
        Text(command, "access", _protector.Protect(tokens.AccessToken));
        Text(command, "refresh", _protector.Protect(tokens.RefreshToken));
        Time(command, "expires", tokens.ExpiresAt);
        Time(command, "now", time.GetUtcNow());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<UpstreamAccountView>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT a.id, a.label, a.status, a.expires_at, a.last_refresh_at, a.last_error, a.created_at, a.connected_at,
                   ARRAY(SELECT target_id FROM upstream_account_assignments s WHERE s.account_id = a.id AND s.target_type = 'organization' ORDER BY 1),
                   ARRAY(SELECT target_id FROM upstream_account_assignments s WHERE s.account_id = a.id AND s.target_type = 'credential' ORDER BY 1)
            FROM upstream_accounts a ORDER BY a.created_at
            """, connection);
        var list = new List<UpstreamAccountView>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var status = reader.GetString(2);
            list.Add(new UpstreamAccountView(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), status, status == "connected",
                NullableTime(reader, 3), NullableTime(reader, 4), reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.GetFieldValue<DateTimeOffset>(6), NullableTime(reader, 7), reader.GetFieldValue<string[]>(8), reader.GetFieldValue<string[]>(9)));
        }

        return list;
    }

    /// <summary>Forgets the tokens; assignments stay, so the keys it served get a clear error instead of another account.</summary>
    public async Task<bool> DisconnectAsync(string accountId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            UPDATE upstream_accounts SET status = 'disconnected', access_token = NULL, refresh_token = NULL, expires_at = NULL,
                disconnected_at = @now, last_error = 'disconnected by an administrator'
            WHERE id = @id AND status <> 'disconnected'
            """, connection);
        Text(command, "id", accountId);
        Time(command, "now", time.GetUtcNow());
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<bool> ExistsAsync(string accountId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT 1 FROM upstream_accounts WHERE id = @id", connection);
        Text(command, "id", accountId);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Assigns (accountId not null) or unassigns an organization or a credential.</summary>
    public async Task AssignAsync(string targetType, string targetId, string? accountId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(accountId is null
            ? "DELETE FROM upstream_account_assignments WHERE target_type = @type AND target_id = @target"
            : """
              INSERT INTO upstream_account_assignments (target_type, target_id, account_id) VALUES (@type, @target, @account)
              ON CONFLICT (target_type, target_id) DO UPDATE SET account_id = EXCLUDED.account_id
              """, connection);
        Text(command, "type", targetType);
        Text(command, "target", targetId);
        Text(command, "account", accountId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The account's access token, refreshed first when it expires within the margin, or when the caller saw
    /// <paramref name="rejectedToken"/> rejected upstream (refreshed only if it is still the stored one: a second caller
    /// with the same stale token gets the token the first one's refresh produced).
    /// </summary>
    public async Task<AccessTokenResult> GetAccessTokenAsync(string accountId, string? rejectedToken, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string status, access, refresh;
        DateTimeOffset expires;
        await using (var read = new NpgsqlCommand(
            "SELECT status, access_token, refresh_token, expires_at, last_error FROM upstream_accounts WHERE id = @id FOR UPDATE", connection, transaction))
        {
            Text(read, "id", accountId);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new AccessTokenResult(null, null, "is not connected (unknown account)", NeedsReconnect: true);
            }

            status = reader.GetString(0);
            if (status != "connected" || reader.IsDBNull(1) || reader.IsDBNull(2))
            {
                var why = reader.IsDBNull(4) ? status : $"{status}: {reader.GetString(4)}";
                return new AccessTokenResult(null, null, why, NeedsReconnect: true);
            }

            access = _protector.Unprotect(reader.GetString(1));
            refresh = _protector.Unprotect(reader.GetString(2));
            expires = reader.GetFieldValue<DateTimeOffset>(3);
        }

        var rejected = rejectedToken is not null && rejectedToken == access;
        if (!rejected && expires - options.Value.RefreshMargin > time.GetUtcNow())
        {
            await transaction.CommitAsync(CancellationToken.None);
            return new AccessTokenResult(access, expires, null, false);
        }

        // The row stays locked during the call: the other askers wait and then read the new token.
        var result = await tokenClient.RefreshAsync(refresh, CancellationToken.None);
        var now = time.GetUtcNow();
        if (result.Tokens is { } tokens)
        {
            await using var write = new NpgsqlCommand("""
                UPDATE upstream_accounts SET access_token = @access, refresh_token = @refresh, expires_at = @expires, last_refresh_at = @now, last_error = NULL
                WHERE id = @id
                """, connection, transaction);
            Text(write, "id", accountId);
            Text(write, "access", _protector.Protect(tokens.AccessToken));
            Text(write, "refresh", _protector.Protect(tokens.RefreshToken));
            Time(write, "expires", tokens.ExpiresAt);
            Time(write, "now", now);
            await write.ExecuteNonQueryAsync(CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
            return new AccessTokenResult(tokens.AccessToken, tokens.ExpiresAt, null, false);
        }

        await using (var fail = new NpgsqlCommand(result.Permanent
            ? "UPDATE upstream_accounts SET status = 'refresh_failed', last_error = @error WHERE id = @id"
            : "UPDATE upstream_accounts SET last_error = @error WHERE id = @id", connection, transaction))
        {
            Text(fail, "id", accountId);
            Text(fail, "error", $"refresh failed: {result.Error}");
            await fail.ExecuteNonQueryAsync(CancellationToken.None);
        }

        await transaction.CommitAsync(CancellationToken.None);
        // A transient failure with a token that is still valid keeps serving; otherwise the caller gets the reason.
        return !result.Permanent && expires > now
            ? new AccessTokenResult(access, expires, null, false)
            : new AccessTokenResult(null, null, result.Permanent ? $"refresh_failed: {result.Error}" : $"refresh failed: {result.Error}", result.Permanent);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (!readiness.IsReady)
        {
            throw new CredentialStoreUnavailableException($"The credential database is not ready yet ({readiness.LastError ?? "starting"}); try again shortly.");
        }

        try
        {
            return await dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw new CredentialStoreUnavailableException("The credential database is unreachable; try again shortly.", e);
        }
    }

    private static DateTimeOffset? NullableTime(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetFieldValue<DateTimeOffset>(i);

    private static void Text(NpgsqlCommand command, string name, string? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });

    private static void Time(NpgsqlCommand command, string name, DateTimeOffset value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.TimestampTz) { Value = value.ToUniversalTime() });
}
