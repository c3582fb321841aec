using System.Diagnostics.Metrics;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Contracts.Pricing;
using LlmGateway.Gateway.Admission;
using LlmGateway.Gateway.Limits;
using LlmGateway.Gateway.Redis;
using LlmGateway.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Tests.Limits;

/// <summary>
/// Admission while Redis cannot be reached at all (a multiplexer to a closed port): each configured policy, the
/// per-instance limiters, one log line per transition and the fallback metric.
/// </summary>
public sealed class FallbackPolicyTests : IDisposable
{
    private static readonly string UnreachableRedis = $"127.0.0.1:{RedisServer.FreePort()},abortConnect=false,connectTimeout=200,connectRetry=0";
    private readonly ConnectionMultiplexer _unreachable = ConnectionMultiplexer.Connect(UnreachableRedis);
    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly LogCapture _logs = new();
    private readonly ManualTimeProvider _time = new();
    private readonly ILoggerFactory _loggers;

    public FallbackPolicyTests() => _loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Debug));

    public void Dispose()
    {
        _loggers.Dispose();
        _unreachable.Dispose();
        _metrics.Dispose();
    }

    private (LimitAdmission Admission, PendingSpend Pending) Create(Action<LimitOptions>? configure = null)
    {
        var options = new LimitOptions();
        configure?.Invoke(options);
        var wrapped = Options.Create(options);
        var loggers = _loggers;
        var pending = new PendingSpend(wrapped);
        var scripts = ScriptRunner.Create(UnreachableRedis, _unreachable, _time, loggers.CreateLogger<ScriptRunner>());
        var admission = new LimitAdmission(
            new LimitPlanner(wrapped, PriceTable.BuiltIn, _time),
            new RedisLimitStore(scripts, wrapped),
            new LocalLimitStore(wrapped, _time),
            pending,
            new LeaseRegistry(),
            new QuotaLeasePool(wrapped, _time),
            new LimitStoreState(scripts, wrapped, _time, loggers.CreateLogger<LimitStoreState>()),
            new LimitTelemetry(_metrics.GetRequiredService<IMeterFactory>()),
            PriceTable.BuiltIn,
            wrapped,
            loggers.CreateLogger<LimitAdmission>());
        return (admission, pending);
    }

    private static AdmissionRequest Request(CredentialProjection credential, bool metered = true) =>
        new(LimitHarness.NewRequestId(), credential, "/v1/messages", LimitHarness.Model, 100, false, 200, metered);

    private int FallbackLines => _logs.Lines.Count(l => l.Contains("Limits fall back", StringComparison.Ordinal));

    [Fact]
    public async Task By_default_rate_limits_are_enforced_per_instance_budgets_fail_closed_and_the_transition_is_logged_once()
    {
        var (admission, _) = Create();
        var measurements = new List<(long Value, string Limit, string Policy)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this test's meter: other tests' gateways in this process publish the same instrument.
            if (instrument.Name == "llmgateway.gateway.limits.fallback" && ReferenceEquals(instrument.Meter.Scope, _metrics.GetRequiredService<IMeterFactory>()))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var all = tags.ToArray();
            lock (measurements)
            {
                measurements.Add((value, (string)all.Single(t => t.Key == "llmgateway.limit").Value!, (string)all.Single(t => t.Key == "llmgateway.policy").Value!));
            }
        });
        listener.Start();

        var limited = LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 2, MaxConcurrent = 5 });
        var decisions = new List<AdmissionDecision>();
        for (var i = 0; i < 3; i++)
        {
            decisions.Add(await admission.AdmitAsync(Request(limited), CancellationToken.None));
        }

        Assert.True(decisions[0].Admitted);
        Assert.True(decisions[1].Admitted);
        Assert.False(decisions[2].Admitted);
        Assert.Equal(429, decisions[2].Status);
        Assert.Equal("rate_limit_error", decisions[2].ErrorType);
        Assert.Equal((2, 0), decisions[2].Headers!.Requests);

        var budgeted = await admission.AdmitAsync(Request(LimitHarness.Credential(new CredentialLimits { BudgetUsd = 100 })), CancellationToken.None);
        Assert.False(budgeted.Admitted);
        Assert.Equal(503, budgeted.Status);
        Assert.Equal("api_error", budgeted.ErrorType);
        Assert.NotNull(budgeted.RetryAfter);

        // A credential without limits needs no limit store at all.
        Assert.True((await admission.AdmitAsync(Request(LimitHarness.Credential()), CancellationToken.None)).Admitted);

        // Settling frees the local concurrency slots.
        var narrow = LimitHarness.Credential(new CredentialLimits { MaxConcurrent = 1 });
        var held = await admission.AdmitAsync(Request(narrow), CancellationToken.None);
        Assert.False((await admission.AdmitAsync(Request(narrow), CancellationToken.None)).Admitted);
        await admission.SettleAsync(held.Ticket!, new AdmissionOutcome(default, false, 200, null));
        Assert.True((await admission.AdmitAsync(Request(narrow), CancellationToken.None)).Admitted);

        Assert.Equal(1, FallbackLines);
        Assert.Contains(_logs.Lines, l => l.Contains("enforced by each instance on its own", StringComparison.Ordinal)
            && l.Contains("budgeted requests are refused (fail closed)", StringComparison.Ordinal));
        lock (measurements)
        {
            Assert.Equal(6, measurements.Count(m => m is { Limit: "rate", Policy: "per_instance" }));
            Assert.Equal(1, measurements.Count(m => m is { Limit: "budget", Policy: "reject" }));
        }
    }

    [Fact]
    public async Task Fail_closed_rate_limits_refuse_and_fail_open_budgets_admit_and_keep_the_spend_for_later()
    {
        var (admission, pending) = Create(o =>
        {
            o.RedisUnavailable.RateLimits = RateLimitFallback.Reject;
            o.RedisUnavailable.Budgets = BudgetFallback.Allow;
        });

        var rateLimited = await admission.AdmitAsync(Request(LimitHarness.Credential(new CredentialLimits { RequestsPerMinute = 100 })), CancellationToken.None);
        Assert.False(rateLimited.Admitted);
        Assert.Equal(503, rateLimited.Status);

        var budgeted = LimitHarness.Credential(new CredentialLimits { BudgetUsd = 100 });
        var admitted = await admission.AdmitAsync(Request(budgeted), CancellationToken.None);
        Assert.True(admitted.Admitted);
        var usage = new Streaming.ResponseUsage { InputTokens = 1000, OutputTokens = 100, Reported = true };
        await admission.SettleAsync(admitted.Ticket!, new AdmissionOutcome(usage, false, 200, null));

        // total, day and month of the credential and of its owner, each holding the request's cost.
        Assert.Equal(6, pending.Count);
        var cost = PriceTable.BuiltIn.Find(LimitHarness.Model)!.Price.CostNanoUsd(new Contracts.Pricing.TokenUsage(1000, 100));
        Assert.All(pending.Take(100), entry => Assert.Equal(cost, entry.AmountNanoUsd));
        Assert.Contains(_logs.Lines, l => l.Contains("refused (fail closed)", StringComparison.Ordinal)
            && l.Contains("budgeted requests are admitted unchecked (fail open)", StringComparison.Ordinal));
        Assert.Equal(1, FallbackLines);
    }
}
