using System.Globalization;
using LlmGateway.Contracts;
using LlmGateway.ServiceDefaults.Data;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmGateway.UsageWorker.Infrastructure;

/// <summary>
/// Rebuilds the Redis budget counters (<see cref="RedisKeys.BudgetSpent"/>) from the durable spend in PostgreSQL when
/// Redis has lost them.
/// </summary>
/// <remarks>
/// <para>
/// Loss is detected by the marker <see cref="RedisKeys.BudgetSpentRebuilt"/> being gone. The Gateway keeps adding
/// settled costs to the counters the whole time, so after a loss each counter holds exactly the spend settled since
/// the loss; the rebuild therefore <em>adds</em> the spend PostgreSQL holds from before the loss (<c>INCRBY</c>), it
/// never overwrites. The moment of loss is taken as the later of Redis' start (a restart without data) and the last time
/// this instance saw the marker (a flush), so the error is bounded by <see cref="UsageWorkerOptions.SpendCheckInterval"/>.
/// </para>
/// <para>
/// With several replicas exactly one applies the rebuild: a Lua script adds every counter and sets the marker only if
/// the marker is still absent, atomically (adding twice is the multi-pod reseed bug of other gateways). Counters for the
/// current UTC day and month get an expiry when they have none.
/// </para>
/// </remarks>
internal sealed partial class SpendCounterRebuilder(
    IConnectionMultiplexer redis,
    UsageQueries queries,
    [FromKeyedServices(UsageSchema.Component)] SchemaMigrator migrator,
    IOptions<UsageWorkerOptions> options,
    TimeProvider time,
    ILogger<SpendCounterRebuilder> logger) : BackgroundService
{
    private const string RebuildScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        for i = 2, #KEYS do
            local amount = ARGV[(i - 2) * 2 + 2]
            local expireAt = tonumber(ARGV[(i - 2) * 2 + 3])
            redis.call('INCRBY', KEYS[i], amount)
            if expireAt > 0 and redis.call('TTL', KEYS[i]) == -1 then
                redis.call('EXPIREAT', KEYS[i], expireAt)
            end
        end
        redis.call('SET', KEYS[1], ARGV[1])
        return 1
        """;

    private DateTimeOffset? _markerSeenAt;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await migrator.WhenMigrated(stoppingToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(options.Value.SpendCheckInterval);
            do
            {
                try
                {
                    await CheckAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogCheckFailed(logger, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One check; true when this instance rebuilt the counters.</summary>
    internal async Task<bool> CheckAsync(CancellationToken ct)
    {
        var database = redis.GetDatabase();
        var now = time.GetUtcNow();
        if (await database.KeyExistsAsync(RedisKeys.BudgetSpentRebuilt).ConfigureAwait(false))
        {
            _markerSeenAt = now;
            return false;
        }

        var redisStartedAt = now - await UptimeAsync(database).ConfigureAwait(false);
        var cutoff = _markerSeenAt is { } seen && seen > redisStartedAt ? seen : redisStartedAt;
        var totals = await queries.ReadSpendBeforeAsync(cutoff, ct).ConfigureAwait(false);

        var dayKey = RedisKeys.BudgetPeriodKey("daily", cutoff);
        var monthKey = RedisKeys.BudgetPeriodKey("monthly", cutoff);
        var (dayExpiry, monthExpiry) = RedisKeys.BudgetPeriodExpiry(cutoff);

        var keys = new List<RedisKey> { RedisKeys.BudgetSpentRebuilt };
        var values = new List<RedisValue>
        {
            string.Create(CultureInfo.InvariantCulture, $"rebuilt {now:O} from spend before {cutoff:O}"),
        };
        void Add(string key, long amount, long expireAt)
        {
            if (amount != 0)
            {
                keys.Add(key);
                values.Add(amount);
                values.Add(expireAt);
            }
        }

        foreach (var total in totals)
        {
            Add(RedisKeys.BudgetSpent(total.Scope, total.Id, "total"), total.TotalNanoUsd, 0);
            Add(RedisKeys.BudgetSpent(total.Scope, total.Id, monthKey), total.MonthNanoUsd, monthExpiry);
            Add(RedisKeys.BudgetSpent(total.Scope, total.Id, dayKey), total.DayNanoUsd, dayExpiry);
        }

        var applied = (long)await database.ScriptEvaluateAsync(RebuildScript, keys.ToArray(), values.ToArray()).ConfigureAwait(false) == 1;
        _markerSeenAt = time.GetUtcNow();
        if (applied)
        {
            LogRebuilt(logger, keys.Count - 1, cutoff);
        }

        return applied;
    }

    private static async Task<TimeSpan> UptimeAsync(IDatabase database)
    {
        var info = (string)(await database.ExecuteAsync("INFO", "server").ConfigureAwait(false))!;
        foreach (var line in info.Split('\n'))
        {
            if (line.StartsWith("uptime_in_seconds:", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan("uptime_in_seconds:".Length).Trim(), CultureInfo.InvariantCulture, out var seconds))
            {
                return TimeSpan.FromSeconds(seconds);
            }
        }

        return TimeSpan.Zero;
    }

    [LoggerMessage(EventId = 3041, Level = LogLevel.Warning, Message = "Redis had lost the budget spend counters; rebuilt {Count} of them from PostgreSQL spend before {Cutoff:O}")]
    private static partial void LogRebuilt(ILogger logger, int count, DateTimeOffset cutoff);

    [LoggerMessage(EventId = 3042, Level = LogLevel.Debug, Message = "Budget counter check skipped: {Reason}")]
    private static partial void LogCheckFailed(ILogger logger, string reason);
}
