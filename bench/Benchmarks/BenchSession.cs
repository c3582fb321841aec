using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using LlmGateway.Testing;
using Microsoft.Extensions.DependencyInjection;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Usage;
using Npgsql;
using StackExchange.Redis;

namespace LlmGateway.Benchmarks;

/// <summary>The running app and the two targets compared: the simulator directly, and the gateway in front of it.</summary>
public sealed class BenchSession
{
    private readonly TestApp _app;

    private BenchSession(TestApp app, Target direct, Target gateway)
    {
        _app = app;
        Direct = direct;
        Gateway = gateway;
    }

    public Target Direct { get; }

    public Target Gateway { get; }

    /// <summary>Every process of the app by resource name (first replica), for CPU accounting.</summary>
    public IReadOnlyDictionary<string, int> AppProcesses =>
        _app.App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .Select(r => (r.Name, Pids: _app.ProcessIds(r.Name)))
            .Where(r => r.Pids.Count > 0)
            .ToDictionary(r => r.Name, r => r.Pids[0]);

    public static async Task<BenchSession> CreateAsync(TestApp app)
    {
        // An ordinary API key with room to spare in every limit, so the benchmark measures the whole hot path
        // (resolution, admission, settlement, usage event) without being refused.
        using var admin = app.CreateHttpClient("gateway");
        using var create = new HttpRequestMessage(HttpMethod.Post, "/admin/credentials")
        {
            Content = JsonContent.Create(new JsonObject
            {
                ["name"] = "benchmark",
                ["owner"] = new JsonObject { ["type"] = "organization", ["id"] = "benchmark" },
                ["limits"] = new JsonObject
                {
                    ["requests_per_minute"] = 100_000_000,
                    ["tokens_per_minute"] = 1_000_000_000,
                    ["max_concurrent"] = 100_000,
                    ["budget_usd"] = 1_000_000,
                    ["budget_period"] = "total",
                },
            }),
        };
        create.Headers.Add("x-api-key", app.GetParameter("admin-key"));
        using var response = await admin.SendAsync(create);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Could not create the benchmark key: {(int)response.StatusCode} {body}");
        }

        var secret = JsonNode.Parse(body)!["secret"]!.GetValue<string>();
        var direct = new Target("direct", app.GetEndpoint("upstream"), app.GetParameter("simulator-api-key"), Pid(app, "upstream"));
        var gateway = new Target("gateway", app.GetEndpoint("gateway"), secret, Pid(app, "gateway"));
        return new BenchSession(app, direct, gateway);
    }

    /// <summary>
    /// Stops the UsageWorker, appends <paramref name="events"/> events to the stream, starts it again and measures the
    /// time until every event is a row in PostgreSQL. Returns events per second.
    /// </summary>
    public async Task<double> MeasureUsagePipelineAsync(int events)
    {
        var redisConnection = await _app.GetConnectionStringAsync("redis");
        using var redis = await ConnectionMultiplexer.ConnectAsync(redisConnection + ",syncTimeout=30000");
        var db = redis.GetDatabase();
        await using var pg = NpgsqlDataSource.Create((await _app.GetConnectionStringAsync("llmgateway"))!);
        var before = await CountAsync(pg);

        await _app.StopResourceAsync("usageworker");
        var run = Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        const int batch = 2000;
        for (var offset = 0; offset < events; offset += batch)
        {
            var pending = new List<Task>(batch);
            for (var i = offset; i < Math.Min(events, offset + batch); i++)
            {
                pending.Add(db.ExecuteAsync("XADD", RedisKeys.UsageStream, "*",
                    UsageEventFields.RequestId, $"req_bench_{run}_{i}",
                    UsageEventFields.Timestamp, now,
                    UsageEventFields.CredentialId, "cred_bench",
                    UsageEventFields.CredentialKind, "api_key",
                    UsageEventFields.OwnerType, "organization",
                    UsageEventFields.OwnerId, "benchmark",
                    UsageEventFields.Model, "claude-sonnet-4-5-20250929",
                    UsageEventFields.Upstream, "anthropic",
                    UsageEventFields.Route, "/v1/messages",
                    UsageEventFields.Status, "200",
                    UsageEventFields.InputTokens, "25",
                    UsageEventFields.OutputTokens, "12",
                    UsageEventFields.Stream, "0",
                    UsageEventFields.LatencyMs, "3",
                    UsageEventFields.TimeToFirstByteMs, "2",
                    UsageEventFields.Estimated, "0"));
            }

            await Task.WhenAll(pending);
        }

        // Timed from the moment the worker is healthy: start-up is not ingestion. Polled by the last event's key (an
        // index lookup): a count(*) every 20 ms kept PostgreSQL scanning the growing table beside the worker's writes, on
        // the same two cores, and slowed what it measured. The count confirms once the last event is there.
        await _app.StartResourceAsync("usageworker");
        var clock = Stopwatch.StartNew();
        var atStart = await CountAsync(pg) - before;
        var last = $"req_bench_{run}_{events - 1}";
        while (!await ExistsAsync(pg, last) || await CountAsync(pg) - before < events)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException("The UsageWorker did not store every event within 5 minutes.");
            }

            await Task.Delay(20);
        }

        return (events - atStart) / clock.Elapsed.TotalSeconds;
    }

    private static async Task<bool> ExistsAsync(NpgsqlDataSource pg, string requestId)
    {
        await using var command = pg.CreateCommand("SELECT EXISTS (SELECT 1 FROM usage_events WHERE request_id = $1)");
        command.Parameters.Add(new NpgsqlParameter { Value = requestId });
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long> CountAsync(NpgsqlDataSource pg)
    {
        await using var command = pg.CreateCommand("SELECT count(*) FROM usage_events");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static int Pid(TestApp app, string resource) =>
        app.ProcessIds(resource).Single();
}
