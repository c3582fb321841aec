using System.Text.Json;
using LlmGateway.Contracts.Credentials;
using LlmGateway.TokenService.Model;
using Npgsql;
using NpgsqlTypes;

namespace LlmGateway.TokenService.Infrastructure;

/// <summary>
/// TokenService's PostgreSQL access: credentials, owners, devices and the audit log (see <see cref="TokenServiceSchema"/>).
/// </summary>
/// <remarks>
/// Every change runs in one transaction that locks the rows it depends on, writes the audit entry, and updates the
/// Redis projection <em>before</em> committing. Because a conflicting change must wait for those locks, the Redis
/// writes of two conflicting changes happen in the order of their commits: a revocation can never be overtaken by
/// the projection of an older state of the same credential (or of a token minted from it). Writes do not observe the
/// request's cancellation: once started they finish, so Redis and PostgreSQL do not diverge because a client left.
/// </remarks>
public sealed partial class CredentialStore(NpgsqlDataSource dataSource, DatabaseReadiness readiness, CredentialProjector projector, TimeProvider time)
{
    private const string SelectCredential = """
        SELECT c.id, c.hash, c.kind, c.hint, c.name, c.external, c.owner_type, c.owner_id, o.name, o.organization_id,
               c.parent_id, c.agent_name, c.device_id, c.app_version, c.models, c.routes,
               c.requests_per_minute, c.tokens_per_minute, c.max_concurrent, c.budget_usd, c.budget_period,
               c.created_at, c.created_by, c.expires_at, c.revoked_at, c.revoked_by, c.revocation_reason, c.replaced_by, c.version,
               CASE WHEN c.parent_id IS NOT NULL THEN (
                   WITH RECURSIVE chain(id, parent_id, kind, rpm, tpm, concurrent, budget, period, depth) AS (
                       SELECT a.id, a.parent_id, a.kind, a.requests_per_minute, a.tokens_per_minute, a.max_concurrent,
                              a.budget_usd, a.budget_period, 1
                       FROM credentials a WHERE a.id = c.parent_id
                       UNION ALL
                       SELECT a.id, a.parent_id, a.kind, a.requests_per_minute, a.tokens_per_minute, a.max_concurrent,
                              a.budget_usd, a.budget_period, chain.depth + 1
                       FROM credentials a JOIN chain ON a.id = chain.parent_id
                       WHERE chain.depth < 32)
                   SELECT json_agg(json_build_array(id, kind, rpm, tpm, concurrent, budget, period) ORDER BY depth) FROM chain)
               END,
               (SELECT json_build_array(u.id, 'user', u.requests_per_minute, u.tokens_per_minute, u.max_concurrent, u.budget_usd, u.budget_period)
                FROM users u WHERE c.owner_type = 'user' AND u.id = c.owner_id),
               (SELECT s.account_id FROM upstream_account_assignments s
                WHERE (s.target_type = 'credential' AND s.target_id IN (c.id, c.parent_id))
                   OR (s.target_type = 'organization'
                       AND s.target_id = COALESCE(o.organization_id, CASE WHEN o.type = 'organization' THEN o.id END))
                ORDER BY s.target_type = 'credential' DESC, s.target_id = c.id DESC LIMIT 1)
        FROM credentials c JOIN owners o ON o.type = c.owner_type AND o.id = c.owner_id
        """;


    public async Task<Credential?> FindByHashAsync(string hash, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await FindAsync(connection, null, "c.hash = @key", hash, null, cancellationToken);
    }

    public async Task<Credential?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await FindAsync(connection, null, "c.id = @key", id, null, cancellationToken);
    }

    /// <summary>A connection, once the schema is known to be in place; a 503 otherwise.</summary>
    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (!readiness.IsReady)
        {
            throw new CredentialStoreUnavailableException(
                $"The credential database is not ready yet ({readiness.LastError ?? "starting"}); try again shortly.");
        }

        return await OpenUncheckedAsync(cancellationToken);
    }

    private async Task<NpgsqlConnection> OpenUncheckedAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw new CredentialStoreUnavailableException("The credential database is unreachable; try again shortly.", e);
        }
    }

    private static async Task<Credential?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string condition, string key, string? lockClause, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"{SelectCredential} WHERE {condition} {lockClause}", connection, transaction);
        Text(command, "key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadCredential(reader) : null;
    }

    private static async Task<List<Credential>> ReadCredentialsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var list = new List<Credential>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadCredential(reader));
        }

        return list;
    }

    private static Credential ReadCredential(NpgsqlDataReader r) => new()
    {
        Id = r.GetString(0),
        Hash = r.GetString(1),
        Kind = CredentialKindNames.Parse(r.GetString(2)),
        Hint = r.GetString(3),
        Name = NullableString(r, 4),
        External = r.GetBoolean(5),
        Owner = new CredentialOwner
        {
            Type = r.GetString(6),
            Id = r.GetString(7),
            Name = NullableString(r, 8),
            OrganizationId = NullableString(r, 9),
        },
        ParentId = NullableString(r, 10),
        AgentName = NullableString(r, 11),
        DeviceId = NullableString(r, 12),
        AppVersion = NullableString(r, 13),
        Scope = new CredentialScope(
            r.GetFieldValue<string[]>(14),
            r.GetFieldValue<string[]>(15),
            new CredentialLimits
            {
                RequestsPerMinute = r.IsDBNull(16) ? null : r.GetInt32(16),
                TokensPerMinute = r.IsDBNull(17) ? null : r.GetInt32(17),
                MaxConcurrent = r.IsDBNull(18) ? null : r.GetInt32(18),
                BudgetUsd = r.IsDBNull(19) ? null : Normalize(r.GetDecimal(19)),
                BudgetPeriod = NullableString(r, 20),
            }),
        CreatedAt = r.GetFieldValue<DateTimeOffset>(21),
        CreatedBy = NullableString(r, 22),
        ExpiresAt = NullableTime(r, 23),
        RevokedAt = NullableTime(r, 24),
        RevokedBy = NullableString(r, 25),
        RevocationReason = NullableString(r, 26),
        ReplacedBy = NullableString(r, 27),
        Version = r.GetInt32(28),
        Ancestors = WithAccount(r.IsDBNull(29) ? null : ReadAncestors(r.GetString(29)), r.IsDBNull(30) ? null : r.GetString(30)),
        UpstreamAccount = NullableString(r, 31),
    };

    /// <summary>
    /// A credential owned by a local user account has that account as the root of its lineage, with the limits an admin
    /// set for the user: the Gateway charges every request of every one of the user's keys (and the tokens minted from
    /// them) to the user too, so together they stay within the user's limits. Its kind is <c>user</c>, and its id the
    /// one a JWT of that account is charged to, so the person's calls with a token and with their keys share counters.
    /// </summary>
    private static List<CredentialAncestor>? WithAccount(List<CredentialAncestor>? chain, string? accountJson)
    {
        if (accountJson is null)
        {
            return chain;
        }

        var account = ReadAncestors("[" + accountJson + "]");
        return chain is null ? account : [.. chain, .. account];
    }

    /// <summary>
    /// The lineage column: <c>[[id, kind, rpm, tpm, concurrent, budget, period], …]</c>, nearest ancestor first, at most 32
    /// (minting chains are short; the bound only stops a corrupt cycle). The owning account's column has the same shape.
    /// </summary>
    private static List<CredentialAncestor> ReadAncestors(string json)
    {
        using var document = JsonDocument.Parse(json);
        var ancestors = new List<CredentialAncestor>(document.RootElement.GetArrayLength());
        foreach (var row in document.RootElement.EnumerateArray())
        {
            static int? Int(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetInt32() : null;
            ancestors.Add(new CredentialAncestor
            {
                Id = row[0].GetString()!,
                Kind = CredentialKindNames.Parse(row[1].GetString()!),
                Limits = new CredentialLimits
                {
                    RequestsPerMinute = Int(row[2]),
                    TokensPerMinute = Int(row[3]),
                    MaxConcurrent = Int(row[4]),
                    BudgetUsd = row[5].ValueKind == JsonValueKind.Number ? Normalize(row[5].GetDecimal()) : null,
                    BudgetPeriod = row[6].ValueKind == JsonValueKind.String ? row[6].GetString() : null,
                },
            });
        }

        return ancestors;
    }

    // numeric(20,6) comes back with six decimals (10.000000); show what was stored (10).
    private static decimal Normalize(decimal value) => value / 1.000000000000000000000000000000000m;

    private static string? NullableString(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? NullableTime(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetFieldValue<DateTimeOffset>(i);

    private static void Text(NpgsqlCommand command, string name, string? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });

    private static void Integer(NpgsqlCommand command, string name, int? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Integer) { Value = (object?)value ?? DBNull.Value });

    private static void BigInt(NpgsqlCommand command, string name, long? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Bigint) { Value = (object?)value ?? DBNull.Value });

    private static void Time(NpgsqlCommand command, string name, DateTimeOffset? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.TimestampTz) { Value = (object?)value?.ToUniversalTime() ?? DBNull.Value });

    private static void TextArray(NpgsqlCommand command, string name, IEnumerable<string> values) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() });
}
