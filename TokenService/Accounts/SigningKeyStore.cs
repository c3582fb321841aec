using System.Security.Cryptography;
using LlmGateway.TokenService.Infrastructure;
using LlmGateway.TokenService.Options;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using NpgsqlTypes;

namespace LlmGateway.TokenService.Accounts;

/// <summary>A JWT signing key: RSA 2048, RS256. Prints as its kid only.</summary>
public sealed record SigningKey(string Kid, RsaSecurityKey Key, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt)
{
    public const string Algorithm = SecurityAlgorithms.RsaSha256;

    public override string ToString() => $"SigningKey {Kid}";
}

/// <summary>
/// The signing keys of user JWTs, in PostgreSQL (table <c>signing_keys</c>) so every replica signs with the same key and
/// publishes the same JWKS. The newest unretired key signs; a rotated key stays published until every token it signed
/// has expired (<c>Accounts:Jwt:Lifetime</c> after its retirement). Each replica caches what it read for
/// <c>Accounts:Jwt:KeyCacheTtl</c>; a token with an unknown kid makes it read again at once.
/// </summary>
public sealed class SigningKeyStore(
    NpgsqlDataSource dataSource,
    DatabaseReadiness readiness,
    ISigningKeyProtector protector,
    IOptions<AccountOptions> options,
    TimeProvider time)
{
    // Creating the first key and rotating are serialized across replicas.
    private const long KeyLock = 0x4c4757_4b45_5931; // "LGWKEY1"

    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Snapshot? _snapshot;

    /// <summary>The key new tokens are signed with (created on first use).</summary>
    public async Task<SigningKey> CurrentAsync(CancellationToken cancellationToken) => (await SnapshotAsync(false, cancellationToken)).Current;

    /// <summary>Every key a valid token may have been signed with (what <c>/.well-known/jwks.json</c> serves).</summary>
    public async Task<IReadOnlyList<SigningKey>> PublishedAsync(CancellationToken cancellationToken) =>
        (await SnapshotAsync(false, cancellationToken)).Published;

    /// <summary>The published key with this kid, reading the database again once if this replica has not seen it yet.</summary>
    public async Task<SigningKey?> FindAsync(string? kid, CancellationToken cancellationToken)
    {
        var snapshot = await SnapshotAsync(false, cancellationToken);
        var key = snapshot.Published.FirstOrDefault(k => k.Kid == kid);
        if (key is null && kid is not null)
        {
            snapshot = await SnapshotAsync(true, cancellationToken);
            key = snapshot.Published.FirstOrDefault(k => k.Kid == kid);
        }

        return key;
    }

    /// <summary>Retires the current key and starts signing with a new one; returns the new key.</summary>
    public async Task<SigningKey> RotateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
        await LockAsync(connection, transaction);
        await using (var retire = new NpgsqlCommand("UPDATE signing_keys SET retired_at = @now WHERE retired_at IS NULL", connection, transaction))
        {
            retire.Parameters.Add(new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = time.GetUtcNow().ToUniversalTime() });
            await retire.ExecuteNonQueryAsync(CancellationToken.None);
        }

        var key = await InsertNewAsync(connection, transaction);
        await transaction.CommitAsync(CancellationToken.None);
        await SnapshotAsync(refresh: true, cancellationToken);
        return key;
    }

    /// <summary>Every stored key with its state, for the admin API.</summary>
    public async Task<IReadOnlyList<(string Kid, string Algorithm, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt)>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT kid, algorithm, created_at, retired_at FROM signing_keys ORDER BY created_at DESC", connection);
        var list = new List<(string, string, DateTimeOffset, DateTimeOffset?)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add((reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return list;
    }

    /// <summary>Until when a key retired at <paramref name="retiredAt"/> stays published.</summary>
    public DateTimeOffset PublishedUntil(DateTimeOffset retiredAt) => retiredAt + options.Value.Jwt.LifetimeValue + ClockSkew;

    private async Task<Snapshot> SnapshotAsync(bool refresh, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!refresh && _snapshot is { } cached && now - cached.ReadAt < options.Value.Jwt.KeyCacheTtlValue)
        {
            return cached;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!refresh && _snapshot is { } again && now - again.ReadAt < options.Value.Jwt.KeyCacheTtlValue)
            {
                return again;
            }

            var snapshot = await ReadAsync(cancellationToken);
            _snapshot = snapshot;
            return snapshot;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<Snapshot> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var published = await ReadPublishedAsync(connection, null, cancellationToken);
        if (!published.Any(k => k.RetiredAt is null))
        {
            await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
            await LockAsync(connection, transaction);
            published = await ReadPublishedAsync(connection, transaction, CancellationToken.None);
            if (!published.Any(k => k.RetiredAt is null))
            {
                published.Insert(0, await InsertNewAsync(connection, transaction));
            }

            await transaction.CommitAsync(CancellationToken.None);
        }

        return new Snapshot(published.First(k => k.RetiredAt is null), published, time.GetUtcNow());
    }

    private async Task<List<SigningKey>> ReadPublishedAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT kid, private_key, protection, created_at, retired_at FROM signing_keys
            WHERE retired_at IS NULL OR retired_at > @cutoff
            ORDER BY created_at DESC
            """, connection, transaction);
        var cutoff = time.GetUtcNow() - options.Value.Jwt.LifetimeValue - ClockSkew;
        command.Parameters.Add(new NpgsqlParameter("cutoff", NpgsqlDbType.TimestampTz) { Value = cutoff.ToUniversalTime() });
        var keys = new List<SigningKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var kid = reader.GetString(0);
            var protection = reader.GetString(2);
            if (protection != protector.Name)
            {
                throw new InvalidOperationException(
                    $"Signing key {kid} is stored with protection '{protection}', but this TokenService uses '{protector.Name}'.");
            }

            var createdAt = reader.GetFieldValue<DateTimeOffset>(3);
            DateTimeOffset? retiredAt = reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4);
            // A key already loaded is reused (a key never changes, only its retirement): no re-import every refresh.
            if (_snapshot?.Published.FirstOrDefault(k => k.Kid == kid) is { } known)
            {
                keys.Add(known with { RetiredAt = retiredAt });
                continue;
            }

            var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(protector.Unprotect(reader.GetFieldValue<byte[]>(1)), out _);
            keys.Add(new SigningKey(kid, new RsaSecurityKey(rsa) { KeyId = kid }, createdAt, retiredAt));
        }

        return keys;
    }

    private async Task<SigningKey> InsertNewAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        var rsa = RSA.Create(2048);
        var kid = "key_" + Guid.CreateVersion7().ToString("N");
        var createdAt = time.GetUtcNow();
        await using var insert = new NpgsqlCommand("""
            INSERT INTO signing_keys (kid, algorithm, private_key, protection, created_at) VALUES (@kid, @algorithm, @key, @protection, @created_at)
            """, connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter("kid", NpgsqlDbType.Text) { Value = kid });
        insert.Parameters.Add(new NpgsqlParameter("algorithm", NpgsqlDbType.Text) { Value = SigningKey.Algorithm });
        insert.Parameters.Add(new NpgsqlParameter("key", NpgsqlDbType.Bytea) { Value = protector.Protect(rsa.ExportPkcs8PrivateKey()) });
        insert.Parameters.Add(new NpgsqlParameter("protection", NpgsqlDbType.Text) { Value = protector.Name });
        insert.Parameters.Add(new NpgsqlParameter("created_at", NpgsqlDbType.TimestampTz) { Value = createdAt.ToUniversalTime() });
        await insert.ExecuteNonQueryAsync(CancellationToken.None);
        return new SigningKey(kid, new RsaSecurityKey(rsa) { KeyId = kid }, createdAt, null);
    }

    private static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter("key", NpgsqlDbType.Bigint) { Value = KeyLock });
        await command.ExecuteNonQueryAsync(CancellationToken.None);
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

    private sealed record Snapshot(SigningKey Current, IReadOnlyList<SigningKey> Published, DateTimeOffset ReadAt);
}
