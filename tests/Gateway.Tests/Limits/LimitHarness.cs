using LlmGateway.Contracts;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Limits;
using LlmGateway.Gateway.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Limits;

/// <summary>One real redis-server for the limit script tests of a class (each test uses its own credential ids).</summary>
public sealed class LimitRedisFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;

    public ConnectionMultiplexer Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartNewAsync();
        Client = await Redis.ConnectAdminAsync();
        await Client.GetDatabase().StringSetAsync(RedisKeys.BudgetSpentRebuilt, "test");
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Redis.DisposeAsync();
    }
}

/// <summary>The gateway's limit planner and Redis store on a real Redis, without the rest of the gateway.</summary>
internal sealed class LimitHarness
{
    public LimitHarness(IConnectionMultiplexer redis, Action<LimitOptions>? configure = null, TimeProvider? time = null)
    {
        Redis = redis;
        Options = new LimitOptions { RedisTimeout = TimeSpan.FromSeconds(10) };
        configure?.Invoke(Options);
        Planner = new LimitPlanner(Microsoft.Extensions.Options.Options.Create(Options), PriceTable.BuiltIn, time ?? TimeProvider.System);
        // The gateway's own script runner for this connection string: the pipelined RESP connection.
        Scripts = ScriptRunner.Create(((ConnectionMultiplexer)redis).Configuration, redis, TimeProvider.System, NullLogger.Instance);
        Store = new RedisLimitStore(Scripts, Microsoft.Extensions.Options.Options.Create(Options));
    }

    public IConnectionMultiplexer Redis { get; }

    public ScriptRunner Scripts { get; }

    public LimitOptions Options { get; }

    public LimitPlanner Planner { get; }

    public RedisLimitStore Store { get; }

    public const string Model = "claude-haiku-4-5";

    public static CredentialProjection Credential(
        CredentialLimits? limits = null, string? owner = null, IReadOnlyList<CredentialAncestor>? ancestors = null,
        CredentialKind kind = CredentialKind.ApiKey, string? id = null) => new()
    {
        Id = id ?? "cred_" + Guid.NewGuid().ToString("N")[..16],
        Kind = kind,
        Hint = "lgw_key_…test",
        Owner = new CredentialOwner { Type = "organization", Id = owner ?? "org_" + Guid.NewGuid().ToString("N")[..12] },
        Limits = limits ?? new CredentialLimits(),
        Ancestors = ancestors,
    };

    public static CredentialAncestor AncestorOf(CredentialProjection parent) => new() { Id = parent.Id, Kind = parent.Kind, Limits = parent.Limits };

    public LimitPlan Plan(CredentialProjection credential, int maxTokens = 400, int bodyBytes = 400, bool metered = true, string model = Model) =>
        Planner.Plan(new AdmissionRequest("req_plan", credential, metered ? "/v1/messages" : "/v1/messages/count_tokens", model, maxTokens, false, bodyBytes, metered));

    public static string NewRequestId() => "req_" + Guid.NewGuid().ToString("N");

    public Task<AdmitResult> AdmitAsync(LimitPlan plan, string requestId, bool requireRebuiltSpend = false) =>
        Store.AdmitAsync(plan, requestId, requireRebuiltSpend);

    public async Task<(string RequestId, AdmitResult Result)> AdmitAsync(LimitPlan plan)
    {
        var requestId = NewRequestId();
        return (requestId, await Store.AdmitAsync(plan, requestId, requireRebuiltSpend: false));
    }

    public Task SettleAsync(LimitPlan plan, string requestId, AdmitResult admitted, long actualTokens, long costNanoUsd)
    {
        var (keys, expiry) = SpendKeys.For(plan.Profile, plan.At);
        return Store.SettleAsync(plan.Subjects, plan.Metered, requestId, admitted.Window, actualTokens - plan.TokenEstimate, costNanoUsd, keys, expiry);
    }

    public async Task<long> LongAsync(string key) => (long?)await Redis.GetDatabase().StringGetAsync(key) ?? 0;

    /// <summary>
    /// Runs a test body whose admissions must fall in one one-minute window and returns what it collected for the
    /// test to assert on; when a window boundary fell inside it (its results name two windows), it runs again with
    /// fresh credentials (it takes milliseconds, so once is enough).
    /// </summary>
    public static async Task<T> InOneWindowAsync<T>(Func<Task<(T Value, IEnumerable<AdmitResult> Results)>> body)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (value, results) = await body();
            var windows = results.Select(r => r.Window).Distinct().Count();
            if (windows == 1 || attempt == 2)
            {
                Assert.Equal(1, windows);
                return value;
            }
        }
    }
}
