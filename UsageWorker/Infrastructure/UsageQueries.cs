using System.Text;
using LlmGateway.Contracts.Usage;
using LlmGateway.UsageWorker.Model;
using Npgsql;

namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>
/// The read side: usage reports from the rollups, stats and exports from a time range of <c>usage_events</c> (by its
/// indexes), and the durable spend that rebuilds the Redis budget counters. Never a full-table scan of the events.
/// </summary>
internal sealed class UsageQueries(NpgsqlDataSource dataSource)
{
    public static readonly IReadOnlyList<string> ExportColumns =
    [
        "request_id", "ts", "credential_id", "credential_kind", "owner_type", "owner_id", "org_id", "agent_name",
        "device_id", "model", "upstream", "route", "status", "error_type", "input_tokens", "output_tokens",
        "cache_creation_input_tokens", "cache_read_input_tokens", "cost_nano_usd", "cost_usd", "priced", "stream",
        "estimated", "latency_ms", "ttfb_ms",
    ];

    private static readonly string ExportSelect = string.Join(", ", ExportColumns.Select(c => c == "cost_usd"
        ? "round(cost_nano_usd::numeric / 1000000000, 9) AS cost_usd"
        : c));

    /// <summary>Wire names of the columns each dimension adds to a row.</summary>
    public static IReadOnlyList<string> ColumnsOf(UsageDimension dimension) => dimension switch
    {
        UsageDimension.Credential => ["credential_id"],
        UsageDimension.Owner => ["owner_type", "owner_id"],
        UsageDimension.Organization => ["org_id"],
        UsageDimension.Agent => ["agent_name"],
        UsageDimension.Device => ["device_id"],
        UsageDimension.Model => ["model"],
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };

    /// <summary>
    /// Opens a cursor over the report's rows, ordered by bucket then group: bucket, the grouped columns, requests,
    /// errors, four token counts, cost. Pass <paramref name="limit"/> to stop early.
    /// </summary>
    public async Task<QueryCursor> OpenUsageReportAsync(UsageReportQuery query, UsageScope scope, int? limit, CancellationToken ct)
    {
        var table = query.Granularity == Granularity.Hour ? "usage_hourly" : "usage_daily";
        var groupColumns = query.GroupBy.SelectMany(ColumnsOf).ToList();
        var select = groupColumns.Count == 0 ? "" : ", " + string.Join(", ", groupColumns);
        var sql = new StringBuilder($"""
            SELECT bucket{select},
                   sum(requests)::bigint, sum(errors)::bigint, sum(input_tokens)::bigint, sum(output_tokens)::bigint,
                   sum(cache_creation_input_tokens)::bigint, sum(cache_read_input_tokens)::bigint, sum(cost_nano_usd)::bigint
            FROM {table}
            WHERE bucket >= $1 AND bucket < $2
            """);
        var parameters = new List<object> { query.From, query.To };
        AppendConditions(sql, parameters, query.Filter, scope);
        sql.Append($"\nGROUP BY bucket{select}\nORDER BY bucket{select}");
        if (limit is { } l)
        {
            parameters.Add(l);
            sql.Append($"\nLIMIT ${parameters.Count}");
        }

        return await QueryCursor.OpenAsync(dataSource, sql.ToString(), parameters, ct).ConfigureAwait(false);
    }

    public static UsageReportRow ReadUsageRow(NpgsqlDataReader reader, IReadOnlyList<string> groupColumns)
    {
        var group = new Dictionary<string, object?>(groupColumns.Count, StringComparer.Ordinal);
        for (var i = 0; i < groupColumns.Count; i++)
        {
            group[groupColumns[i]] = reader.IsDBNull(i + 1) ? null : reader.GetString(i + 1);
        }

        var n = groupColumns.Count + 1;
        return new UsageReportRow
        {
            BucketStart = reader.GetFieldValue<DateTimeOffset>(0),
            Group = group,
            Requests = reader.GetInt64(n),
            Errors = reader.GetInt64(n + 1),
            InputTokens = reader.GetInt64(n + 2),
            OutputTokens = reader.GetInt64(n + 3),
            CacheCreationInputTokens = reader.GetInt64(n + 4),
            CacheReadInputTokens = reader.GetInt64(n + 5),
            CostNanoUsd = reader.GetInt64(n + 6),
        };
    }

    /// <summary>Opens a cursor over every request in range, oldest first, with <see cref="ExportColumns"/>.</summary>
    public async Task<QueryCursor> OpenExportAsync(ExportQuery query, UsageScope scope, CancellationToken ct)
    {
        var sql = new StringBuilder($"SELECT {ExportSelect} FROM usage_events WHERE ts >= $1 AND ts < $2");
        var parameters = new List<object> { query.From, query.To };
        AppendConditions(sql, parameters, query.Filter, scope);
        sql.Append("\nORDER BY ts, request_id");
        return await QueryCursor.OpenAsync(dataSource, sql.ToString(), parameters, ct).ConfigureAwait(false);
    }

    /// <summary>Totals, percentiles and the top models and credentials of a window, in one round trip.</summary>
    public async Task<StatsReport> ReadStatsAsync(StatsQuery query, UsageScope scope, CancellationToken ct)
    {
        var where = new StringBuilder("WHERE ts >= $1 AND ts < $2");
        var parameters = new List<object> { query.From, query.To };
        AppendConditions(where, parameters, query.Filter, scope);
        parameters.Add(query.Top);
        var top = $"${parameters.Count}";
        const string Sums = """
            count(*), count(*) FILTER (WHERE is_error), coalesce(sum(input_tokens), 0)::bigint,
            coalesce(sum(output_tokens), 0)::bigint
            """;

        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                Command($"""
                    SELECT {Sums}, coalesce(sum(cache_creation_input_tokens), 0)::bigint,
                           coalesce(sum(cache_read_input_tokens), 0)::bigint, coalesce(sum(cost_nano_usd), 0)::bigint,
                           percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms),
                           percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms),
                           percentile_disc(0.5) WITHIN GROUP (ORDER BY ttfb_ms),
                           percentile_disc(0.95) WITHIN GROUP (ORDER BY ttfb_ms)
                    FROM usage_events {where}
                    """, parameters),
                Command($"""
                    SELECT model, {Sums}, coalesce(sum(cost_nano_usd), 0)::bigint
                    FROM usage_events {where}
                    GROUP BY model ORDER BY count(*) DESC, model LIMIT {top}
                    """, parameters),
                Command($"""
                    SELECT credential_id, {Sums}, coalesce(sum(cost_nano_usd), 0)::bigint
                    FROM usage_events {where}
                    GROUP BY credential_id ORDER BY count(*) DESC, credential_id LIMIT {top}
                    """, parameters),
            },
        };

        await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        var totals = new UsageTotals(
            reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
        var latency = new Percentiles(NullableInt(reader, 7), NullableInt(reader, 8));
        var ttfb = new Percentiles(NullableInt(reader, 9), NullableInt(reader, 10));

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        var models = new List<ModelStats>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            models.Add(new ModelStats(NullableString(reader, 0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }

        await reader.NextResultAsync(ct).ConfigureAwait(false);
        var credentials = new List<CredentialStats>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            credentials.Add(new CredentialStats(NullableString(reader, 0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }

        var seconds = (query.To - query.From).TotalSeconds;
        var tokens = totals.InputTokens + totals.OutputTokens + totals.CacheCreationInputTokens + totals.CacheReadInputTokens;
        return new StatsReport(
            query.From,
            query.To,
            seconds,
            totals,
            totals.Requests == 0 ? 0 : (double)totals.Errors / totals.Requests,
            totals.Requests / seconds,
            tokens / seconds,
            latency,
            ttfb,
            models,
            credentials);
    }

    /// <summary>
    /// Durable spend before <paramref name="cutoff"/>, per credential and per owner: in total, in the UTC month and in
    /// the UTC day of the cutoff. Whole days come from the daily rollup, whole hours of the last day from the hourly
    /// one, and only the last partial hour from the events.
    /// </summary>
    public async Task<IReadOnlyList<SpendTotal>> ReadSpendBeforeAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        var utc = cutoff.ToUniversalTime();
        var hour = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
        var day = new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
        var month = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
        const string Sql = """
            WITH parts AS (
                SELECT credential_id, owner_id, bucket AS at, cost_nano_usd AS cost FROM usage_daily WHERE bucket < $2
                UNION ALL
                SELECT credential_id, owner_id, bucket, cost_nano_usd FROM usage_hourly WHERE bucket >= $2 AND bucket < $3
                UNION ALL
                SELECT credential_id, owner_id, ts, cost_nano_usd FROM usage_events WHERE ts >= $3 AND ts < $4
            )
            SELECT 'cred', credential_id, sum(cost)::bigint,
                   coalesce(sum(cost) FILTER (WHERE at >= $1), 0)::bigint, coalesce(sum(cost) FILTER (WHERE at >= $2), 0)::bigint
            FROM parts WHERE credential_id IS NOT NULL GROUP BY credential_id HAVING sum(cost) > 0
            UNION ALL
            SELECT 'owner', owner_id, sum(cost)::bigint,
                   coalesce(sum(cost) FILTER (WHERE at >= $1), 0)::bigint, coalesce(sum(cost) FILTER (WHERE at >= $2), 0)::bigint
            FROM parts WHERE owner_id IS NOT NULL GROUP BY owner_id HAVING sum(cost) > 0
            """;
        await using var cursor = await QueryCursor.OpenAsync(dataSource, Sql, [month, day, hour, utc], ct).ConfigureAwait(false);
        var totals = new List<SpendTotal>();
        while (await cursor.Reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var r = cursor.Reader;
            totals.Add(new SpendTotal(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4)));
        }

        return totals;
    }

    /// <summary>Adds the caller's filters and scope as parameterized equality conditions.</summary>
    private static void AppendConditions(StringBuilder sql, List<object> parameters, UsageFilter filter, UsageScope scope)
    {
        void Equal(string column, string? value)
        {
            if (value is not null)
            {
                parameters.Add(value);
                sql.Append($" AND {column} = ${parameters.Count}");
            }
        }

        Equal("credential_id", filter.CredentialId);
        Equal("owner_id", filter.OwnerId);
        Equal("org_id", filter.OrganizationId);
        Equal("agent_name", filter.AgentName);
        Equal("device_id", filter.DeviceId);
        Equal("model", filter.Model);
        if (!scope.IsAdmin)
        {
            if (scope.DeviceId is not null)
            {
                Equal("device_id", scope.DeviceId);
            }
            else if (scope.OrganizationId is not null)
            {
                Equal("org_id", scope.OrganizationId);
            }
            else if (scope.OwnerId is not null)
            {
                Equal("owner_id", scope.OwnerId);
            }
            else
            {
                // A credential without a device sees only itself; one without an id sees nothing.
                parameters.Add(scope.CredentialId ?? "");
                sql.Append($" AND credential_id = ${parameters.Count}");
            }
        }
    }

    private static NpgsqlBatchCommand Command(string sql, List<object> parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private static int? NullableInt(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}

/// <summary>An open query: connection, command and reader, disposed together.</summary>
internal sealed class QueryCursor : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlCommand _command;

    private QueryCursor(NpgsqlConnection connection, NpgsqlCommand command, NpgsqlDataReader reader)
    {
        _connection = connection;
        _command = command;
        Reader = reader;
    }

    public NpgsqlDataReader Reader { get; }

    public static async Task<QueryCursor> OpenAsync(NpgsqlDataSource dataSource, string sql, IReadOnlyList<object> parameters, CancellationToken ct)
    {
        var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        var command = new NpgsqlCommand(sql, connection);
        try
        {
            foreach (var value in parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
            }

            var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return new QueryCursor(connection, command, reader);
        }
        catch
        {
            await command.DisposeAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Reader.DisposeAsync().ConfigureAwait(false);
        await _command.DisposeAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
