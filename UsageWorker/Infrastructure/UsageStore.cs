using LlmGateway.UsageWorker.Model;
using Npgsql;
using NpgsqlTypes;

namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>
/// Writes batches of usage events to PostgreSQL, idempotently and fast: binary <c>COPY</c> into a session temp table,
/// then one round trip that inserts the new rows (<c>ON CONFLICT (request_id) DO NOTHING</c>) and folds exactly the
/// inserted rows into the hourly and daily rollups, all in one transaction. A re-delivered event changes nothing.
/// </summary>
/// <remarks>
/// Holds one dedicated connection (not thread-safe: one writer loop owns it) so the temp tables are created once per
/// connection rather than per batch; any failure drops the connection and the next write opens a fresh one.
/// Rows are inserted and rollups upserted in key order, so concurrent writers (other replicas) take row locks in the
/// same order and cannot deadlock one another.
/// </remarks>
internal sealed class UsageStore(NpgsqlDataSource dataSource) : IAsyncDisposable
{
    private const string Columns =
        "request_id, ts, credential_id, credential_kind, owner_type, owner_id, org_id, agent_name, device_id, model, " +
        "upstream, route, status, error_type, is_error, input_tokens, output_tokens, cache_creation_input_tokens, " +
        "cache_read_input_tokens, cost_nano_usd, priced, stream, estimated, latency_ms, ttfb_ms";

    private const string CreateSessionTables = """
        CREATE TEMP TABLE IF NOT EXISTS usage_staging (LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS usage_inserted (LIKE usage_events) ON COMMIT DELETE ROWS;
        """;

    private const string InsertEvents = $"""
        WITH inserted AS (
            INSERT INTO usage_events ({Columns})
            SELECT {Columns} FROM usage_staging ORDER BY request_id
            ON CONFLICT (request_id) DO NOTHING
            RETURNING *)
        INSERT INTO usage_inserted SELECT * FROM inserted
        """;

    private const string Dimensions = "credential_id, owner_type, owner_id, org_id, agent_name, device_id, model";

    private static string UpsertRollup(string table, string unit) => $"""
        INSERT INTO {table} AS r (bucket, {Dimensions}, requests, errors, estimated, input_tokens, output_tokens,
                                  cache_creation_input_tokens, cache_read_input_tokens, cost_nano_usd)
        SELECT date_trunc('{unit}', ts, 'UTC'), {Dimensions},
               count(*), count(*) FILTER (WHERE is_error), count(*) FILTER (WHERE estimated),
               sum(input_tokens), sum(output_tokens), sum(cache_creation_input_tokens), sum(cache_read_input_tokens),
               sum(cost_nano_usd)
        FROM usage_inserted
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (bucket, {Dimensions}) DO UPDATE SET
            requests = r.requests + excluded.requests,
            errors = r.errors + excluded.errors,
            estimated = r.estimated + excluded.estimated,
            input_tokens = r.input_tokens + excluded.input_tokens,
            output_tokens = r.output_tokens + excluded.output_tokens,
            cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens,
            cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens,
            cost_nano_usd = r.cost_nano_usd + excluded.cost_nano_usd
        """;

    private static readonly string UpsertHourly = UpsertRollup("usage_hourly", "hour");
    private static readonly string UpsertDaily = UpsertRollup("usage_daily", "day");

    private NpgsqlConnection? _connection;

    /// <summary>Stores the events in one transaction; returns how many were new (the rest were already stored).</summary>
    public async Task<int> WriteAsync(IReadOnlyList<UsageEvent> events, CancellationToken ct)
    {
        if (events.Count == 0)
        {
            return 0;
        }

        var connection = await ConnectionAsync(ct).ConfigureAwait(false);
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await CopyAsync(connection, events, ct).ConfigureAwait(false);

            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand(InsertEvents),
                    new NpgsqlBatchCommand(UpsertHourly),
                    new NpgsqlBatchCommand(UpsertDaily),
                    new NpgsqlBatchCommand("SELECT count(*) FROM usage_inserted"),
                },
            };
            long inserted;
            await using (var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (reader.FieldCount == 0 && await reader.NextResultAsync(ct).ConfigureAwait(false))
                {
                }

                await reader.ReadAsync(ct).ConfigureAwait(false);
                inserted = reader.GetInt64(0);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return (int)inserted;
        }
        catch
        {
            await DropConnectionAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync() => DropConnectionAsync();

    private static async Task CopyAsync(NpgsqlConnection connection, IReadOnlyList<UsageEvent> events, CancellationToken ct)
    {
        await using var importer = await connection.BeginBinaryImportAsync(
            $"COPY usage_staging ({Columns}) FROM STDIN (FORMAT BINARY)", ct).ConfigureAwait(false);
        foreach (var e in events)
        {
            await importer.StartRowAsync(ct).ConfigureAwait(false);
            await importer.WriteAsync(e.RequestId, NpgsqlDbType.Text, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.Timestamp, NpgsqlDbType.TimestampTz, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.CredentialId, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.CredentialKind, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.OwnerType, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.OwnerId, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.OrganizationId, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.AgentName, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.DeviceId, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.Model, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.Upstream, ct).ConfigureAwait(false);
            await WriteTextAsync(importer, e.Route, ct).ConfigureAwait(false);
            if (e.Status is { } status)
            {
                await importer.WriteAsync(status, NpgsqlDbType.Smallint, ct).ConfigureAwait(false);
            }
            else
            {
                await importer.WriteNullAsync(ct).ConfigureAwait(false);
            }

            await WriteTextAsync(importer, e.ErrorType, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.IsError, NpgsqlDbType.Boolean, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.InputTokens, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.OutputTokens, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.CacheCreationInputTokens, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.CacheReadInputTokens, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.CostNanoUsd, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.Priced, NpgsqlDbType.Boolean, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.Stream, NpgsqlDbType.Boolean, ct).ConfigureAwait(false);
            await importer.WriteAsync(e.Estimated, NpgsqlDbType.Boolean, ct).ConfigureAwait(false);
            await WriteIntegerAsync(importer, e.LatencyMs, ct).ConfigureAwait(false);
            await WriteIntegerAsync(importer, e.TimeToFirstByteMs, ct).ConfigureAwait(false);
        }

        await importer.CompleteAsync(ct).ConfigureAwait(false);
    }

    private static Task WriteTextAsync(NpgsqlBinaryImporter importer, string? value, CancellationToken ct) =>
        value is null ? importer.WriteNullAsync(ct) : importer.WriteAsync(value, NpgsqlDbType.Text, ct);

    private static Task WriteIntegerAsync(NpgsqlBinaryImporter importer, int? value, CancellationToken ct) =>
        value is { } v ? importer.WriteAsync(v, NpgsqlDbType.Integer, ct) : importer.WriteNullAsync(ct);

    private async ValueTask<NpgsqlConnection> ConnectionAsync(CancellationToken ct)
    {
        if (_connection is { State: System.Data.ConnectionState.Open })
        {
            return _connection;
        }

        await DropConnectionAsync().ConfigureAwait(false);
        var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        try
        {
            await using var command = new NpgsqlCommand(CreateSessionTables, connection);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _connection = connection;
        return connection;
    }

    private async ValueTask DropConnectionAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
