using System.Diagnostics;
using System.Globalization;
using LlmGateway.Testing;
using LlmGateway.Contracts;
using LlmGateway.Contracts.Usage;
using Npgsql;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Tests.Integration;

/// <summary>
/// Redis, PostgreSQL and two UsageWorker replicas, started once for the integration tests (which run one after another
/// in the <see cref="UsageAppCollection"/>). Reclaim and maintenance intervals are shortened so that failure tests
/// finish in seconds. Each test uses its own request-id prefix and credential ids.
/// </summary>
public sealed class UsageAppFixture : IAsyncLifetime
{
    /// <summary>The operator's bootstrap admin key: any string, not necessarily in gateway format.</summary>
    public const string AdminKey = "operator-chosen bootstrap key";

    public TestApp App { get; private set; } = null!;

    /// <summary>An OIDC issuer served by the test process, configured (through the AppHost's Identity section) as <c>test</c>.</summary>
    public TestJwtIssuer Issuer { get; private set; } = null!;
    public ConnectionMultiplexer Redis { get; private set; } = null!;
    public string RedisConnectionString { get; private set; } = null!;
    public string DatabaseConnectionString { get; private set; } = null!;
    public IDatabase Db => Redis.GetDatabase();

    public async Task InitializeAsync()
    {
        Issuer = await TestJwtIssuer.StartAsync();
        App = await TestAppBuilder.Create()
            .WithParameter("admin-key", AdminKey)
            .WithConfiguration("Identity:Issuers:test:MetadataAddress", Issuer.MetadataAddress)
            .WithConfiguration("Identity:Issuers:test:Issuer", Issuer.Issuer)
            .WithConfiguration("Identity:Issuers:test:Audience", "llm-gateway")
            .WithConfiguration("Identity:Issuers:test:RequireHttpsMetadata", "false")
            .WithResources("usageworker")
            .WithReplicas("usageworker", 2)
            .WithEnvironment("usageworker", "UsageWorker__ReclaimMinIdle", "00:00:02")
            .WithEnvironment("usageworker", "UsageWorker__ReclaimInterval", "00:00:00.500")
            .WithEnvironment("usageworker", "UsageWorker__MaintenanceInterval", "00:00:00.500")
            .WithEnvironment("usageworker", "UsageWorker__SpendCheckInterval", "00:00:00.250")
            .WithEnvironment("usageworker", "UsageWorker__ReadBlockTimeout", "00:00:00.500")
            // Back-to-back reads: the kill test must catch a replica holding read-but-unacknowledged entries, and with a
            // linger between partial reads a replica holds none most of the time. (The gateway's whole-app tests run
            // the worker with its default linger.)
            .WithEnvironment("usageworker", "UsageWorker__ReadLinger", "00:00:00")
            .StartAsync();
        RedisConnectionString = (await App.GetConnectionStringAsync("redis"))!;
        DatabaseConnectionString = (await App.GetConnectionStringAsync("llmgateway"))!;
        var options = ConfigurationOptions.Parse(RedisConnectionString);
        options.AbortOnConnectFail = false;
        Redis = await ConnectionMultiplexer.ConnectAsync(options);
    }

    public async Task DisposeAsync()
    {
        Redis.Dispose();
        await App.DisposeAsync();
        await Issuer.DisposeAsync();
    }

    public HttpClient Worker(int replica = 0) => App.CreateHttpClient("usageworker", replica);

    /// <summary>The process of each UsageWorker replica (its consumer name in the group ends with "-{pid}").</summary>
    public IReadOnlyList<int> WorkerProcesses => App.ProcessIds("usageworker");

    /// <summary>Appends usage events to the stream as the Gateway does (pipelined).</summary>
    public async Task<IReadOnlyList<string>> AddEventsAsync(IEnumerable<string[]> events)
    {
        var pending = events.Select(fields => Db.ExecuteAsync("XADD", [RedisKeys.UsageStream, "*", .. fields])).ToList();
        var ids = new List<string>(pending.Count);
        foreach (var task in pending)
        {
            ids.Add((string)(await task)!);
        }

        return ids;
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        var value = await command.ExecuteScalarAsync();
        return value is DBNull or null ? default! : (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture);
    }

    public Task<long> CountRowsAsync(string requestIdPrefix) =>
        ScalarAsync<long>("SELECT count(*) FROM usage_events WHERE request_id LIKE $1", requestIdPrefix + "%");

    public async Task<long> PendingAsync()
    {
        var summary = (RedisResult[])(await Db.ExecuteAsync("XPENDING", RedisKeys.UsageStream, RedisKeys.UsageConsumerGroup))!;
        return (long)summary[0];
    }

    /// <summary>Waits until the rows of a prefix reach <paramref name="expected"/> and nothing is pending.</summary>
    public async Task WaitForStoredAsync(string prefix, long expected, TimeSpan? timeout = null)
    {
        long rows = -1, pending = -1;
        var stored = await Eventually.TrueAsync(async () =>
        {
            rows = await CountRowsAsync(prefix);
            pending = rows >= expected ? await PendingAsync() : -1;
            return rows >= expected && pending == 0;
        }, timeout ?? TimeSpan.FromSeconds(60));
        Assert.True(stored, $"expected {expected} rows with prefix {prefix} and nothing pending; have {rows} rows, {pending} pending");
    }
}

[CollectionDefinition(Name)]
public sealed class UsageAppCollection : ICollectionFixture<UsageAppFixture>
{
    public const string Name = "usage app";
}

/// <summary>Polls a condition that has no event to await (rows appearing in PostgreSQL, counters in Redis).</summary>
public static class Eventually
{
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or RedisException or HttpRequestException)
            {
                // The resource is restarting; ask again.
            }

            if (clock.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }
    }
}

/// <summary>Builds usage stream entries (the Gateway's contract) for tests.</summary>
public sealed record TestEvent(
    string RequestId,
    DateTimeOffset At,
    string CredentialId,
    string Model = "claude-sonnet-4-5-20250929",
    long Input = 100,
    long Output = 50,
    long CacheWrite = 0,
    long CacheRead = 0,
    int Status = 200,
    string? OwnerId = null,
    string? DeviceId = null,
    string? AgentName = null,
    int LatencyMs = 200,
    int TtfbMs = 40,
    string? OrganizationId = null)
{
    public string[] Fields()
    {
        var fields = new List<string>
        {
            UsageEventFields.RequestId, RequestId,
            UsageEventFields.Timestamp, At.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            UsageEventFields.CredentialId, CredentialId,
            UsageEventFields.CredentialKind, DeviceId is null ? "api_key" : "device_token",
            UsageEventFields.OwnerType, DeviceId is null ? "user" : "device",
            UsageEventFields.OwnerId, OwnerId ?? "owner-of-" + CredentialId,
            UsageEventFields.Model, Model,
            UsageEventFields.Upstream, "anthropic",
            UsageEventFields.Route, "/v1/messages",
            UsageEventFields.Status, Status.ToString(CultureInfo.InvariantCulture),
            UsageEventFields.InputTokens, Input.ToString(CultureInfo.InvariantCulture),
            UsageEventFields.OutputTokens, Output.ToString(CultureInfo.InvariantCulture),
            UsageEventFields.CacheCreationInputTokens, CacheWrite.ToString(CultureInfo.InvariantCulture),
            UsageEventFields.CacheReadInputTokens, CacheRead.ToString(CultureInfo.InvariantCulture),
            UsageEventFields.Stream, "1",
            UsageEventFields.LatencyMs, LatencyMs.ToString(CultureInfo.InvariantCulture),
            UsageEventFields.TimeToFirstByteMs, TtfbMs.ToString(CultureInfo.InvariantCulture),
            UsageEventFields.Estimated, "0",
        };
        if (DeviceId is not null)
        {
            fields.AddRange([UsageEventFields.DeviceId, DeviceId]);
        }

        if (AgentName is not null)
        {
            fields.AddRange([UsageEventFields.AgentName, AgentName]);
        }

        if (OrganizationId is not null)
        {
            fields.AddRange([UsageEventFields.OrganizationId, OrganizationId]);
        }

        return [.. fields];
    }

    /// <summary>List prices per million tokens (input, output, cache write, cache read), written out independently of the price table.</summary>
    public long ExpectedCostNanoUsd()
    {
        var (i, o, w, r) = Model switch
        {
            var m when m.StartsWith("claude-sonnet-4-5", StringComparison.Ordinal) => (3m, 15m, 3.75m, 0.30m),
            var m when m.StartsWith("claude-haiku-4-5", StringComparison.Ordinal) => (1m, 5m, 1.25m, 0.10m),
            var m when m.StartsWith("claude-opus-4-5", StringComparison.Ordinal) => (5m, 25m, 6.25m, 0.50m),
            _ => throw new InvalidOperationException("no test price for " + Model),
        };
        return (long)Math.Round((Input * i + Output * o + CacheWrite * w + CacheRead * r) * 1000m, MidpointRounding.AwayFromZero);
    }
}
