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
        "cache_read_input_tokens, cost_nano_usd, priced, stream, estimated, latency_ms, ttfb_ms, attempts";

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

        // Synchronous writes into the importer's buffer: it only touches the socket when the buffer fills, and the
        // per-value async state machines would cost more than the rare blocking flush (this loop owns its connection).
        foreach (var e in events)
        {
            importer.StartRow();
            importer.Write(e.RequestId, NpgsqlDbType.Text);
            importer.Write(e.Timestamp, NpgsqlDbType.TimestampTz);
            WriteText(importer, e.CredentialId);
            WriteText(importer, e.CredentialKind);
            WriteText(importer, e.OwnerType);
            WriteText(importer, e.OwnerId);
            WriteText(importer, e.OrganizationId);
            WriteText(importer, e.AgentName);
            WriteText(importer, e.DeviceId);
            WriteText(importer, e.Model);
            WriteText(importer, e.Upstream);
            WriteText(importer, e.Route);
            if (e.Status is { } status)
            {
                importer.Write(status, NpgsqlDbType.Smallint);
            }
            else
            {
                importer.WriteNull();
            }

            WriteText(importer, e.ErrorType);
            importer.Write(e.IsError, NpgsqlDbType.Boolean);
            importer.Write(e.InputTokens, NpgsqlDbType.Bigint);
            importer.Write(e.OutputTokens, NpgsqlDbType.Bigint);
            importer.Write(e.CacheCreationInputTokens, NpgsqlDbType.Bigint);
            importer.Write(e.CacheReadInputTokens, NpgsqlDbType.Bigint);
            importer.Write(e.CostNanoUsd, NpgsqlDbType.Bigint);
            importer.Write(e.Priced, NpgsqlDbType.Boolean);
            importer.Write(e.Stream, NpgsqlDbType.Boolean);
            importer.Write(e.Estimated, NpgsqlDbType.Boolean);
            WriteInteger(importer, e.LatencyMs);
            WriteInteger(importer, e.TimeToFirstByteMs);
            WriteInteger(importer, e.Attempts);
        }

        await importer.CompleteAsync(ct).ConfigureAwait(false);
    }

    private static void WriteText(NpgsqlBinaryImporter importer, string? value)
    {
        if (value is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(value, NpgsqlDbType.Text);
        }
    }

    private static void WriteInteger(NpgsqlBinaryImporter importer, int? value)
    {
        if (value is { } v)
        {
            importer.Write(v, NpgsqlDbType.Integer);
        }
        else
        {
            importer.WriteNull();
        }
    }

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
