using LlmGateway.Gateway.Redis;
using StackExchange.Redis;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// One request's settlement as an entry of <see cref="LimitScripts.SettleBatch"/>; its task completes when the call
/// that carried it returned (or faults with that call's exception).
/// </summary>
internal sealed class Settlement : TaskCompletionSource
{
    private const int Queued = 0;
    private const int Sent = 1;
    private const int Abandoned = 2;

    private int _state;

    /// <param name="keys">The entry's keys: its subject bases, then its spend counters.</param>
    /// <param name="values">
    /// The entry's arguments from index 1 (request id, window, token delta, n, m, cost, flags, expiries); index 0 is
    /// left free for the batch's entry count, so a batch of one is sent without copying.
    /// </param>
    public Settlement(RedisKey[] keys, RedisValue[] values)
        : base(TaskCreationOptions.None)
    {
        Keys = keys;
        Values = values;
    }

    public RedisKey[] Keys { get; }

    public RedisValue[] Values { get; }

    /// <summary>
    /// A request admitted from quota leases (<see cref="RedisLimitStore.LeaseEntry"/> with nothing given back): its
    /// token delta, cost and nano-USD may be summed with others of the same leases (<see cref="SettlementBatcher.Merge"/>).
    /// </summary>
    public bool IsLeaseSettlement { get; init; }

    /// <summary>A copy whose arrays <see cref="Add"/> may change (this entry's stay as they are).</summary>
    public Settlement Copy() => new((RedisKey[])Keys.Clone(), (RedisValue[])Values.Clone()) { IsLeaseSettlement = IsLeaseSettlement };

    /// <summary>Adds another lease settlement's token delta, cost and per-subject nano-USD to this one's.</summary>
    public void Add(Settlement other)
    {
        Values[3] = (long)Values[3] + (long)other.Values[3];
        Values[6] = (long)Values[6] + (long)other.Values[6];
        var n = (int)Values[4];
        for (var i = 0; i < n; i++)
        {
            Values[10 + i * 4] = (long)Values[10 + i * 4] + (long)other.Values[10 + i * 4];
        }
    }

    /// <summary>Keys and arguments this entry adds to a script call.</summary>
    public int Arguments => Keys.Length + Values.Length - 1;

    /// <summary>Marks the entry sent; false when its caller gave up waiting before it was.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, Sent, Queued) == Queued;


    /// <summary>
    /// The caller stopped waiting: true when the entry had not been sent and never will be (nothing of it reached
    /// Redis); false when it was sent (its fate is unknown).
    /// </summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Queued) == Queued;
}

/// <summary>
/// Group commit of settlements: with no call in flight a settlement is sent at once on the caller's thread; those that
/// arrive while one is in flight queue and go together, as one <see cref="LimitScripts.SettleBatch"/> call, as soon as
/// it returns (up to <see cref="MaxEntries"/> entries or <see cref="MaxArguments"/> keys and arguments per call). At
/// concurrency 1 nothing waits (unless lease settlements are set to linger, below); at high concurrency many
/// settlements share one round trip and one script call.
/// </summary>
/// <remarks>
/// No thread: the caller that finds no call in flight sends, and whoever completes a call (the connection's receive
/// loop, usually) sends the next batch before completing the finished batch's callers inline. Each call is bounded by
/// <paramref name="timeout"/>, so a lost reply fails its batch and the queue moves on.
/// <para>
/// A lease settlement (<see cref="Settlement.IsLeaseSettlement"/>: nobody waits for it, its cost was reserved in the
/// budget lease) that finds nothing in flight waits <paramref name="linger"/> for others to join it
/// (<c>Limits:Leases:SettleInterval</c>, off by default): at low concurrency every request otherwise makes its own
/// script call (measured serially: 0.8 calls of ~31 µs of Redis CPU per request). Any other settlement, which a caller
/// awaits, ends the wait and goes at once, after the lingering ones (the order of entries is kept).
/// </para>
/// </remarks>
internal sealed class SettlementBatcher(ScriptRunner redis, TimeSpan timeout, TimeSpan linger = default)
{
    public const int MaxEntries = 256;
    public const int MaxArguments = 4000;

    private readonly Lock _gate = new();
    private readonly Queue<Settlement> _queue = new();

    /// <summary>A call is in flight, or lease settlements linger for one (<see cref="_lingering"/>).</summary>
    private bool _sending;
    private bool _lingering;

    /// <summary>Sends <paramref name="settlement"/> now or with the next batch; its task reports the outcome.</summary>
    public Task SettleAsync(Settlement settlement)
    {
        bool alone;
        lock (_gate)
        {
            if (_lingering && !settlement.IsLeaseSettlement)
            {
                // An awaited settlement does not wait out the linger: what lingers goes now, this one after it.
                _lingering = false;
                _queue.Enqueue(settlement);
                alone = false;
            }
            else if (_sending)
            {
                _queue.Enqueue(settlement);
                return settlement.Task;
            }
            else if (settlement.IsLeaseSettlement && linger > TimeSpan.Zero)
            {
                _sending = true;
                _lingering = true;
                _queue.Enqueue(settlement);
                _ = SendAfterLingerAsync();
                return settlement.Task;
            }
            else
            {
                // Nothing in flight: this one goes alone, at once.
                _sending = true;
                settlement.TryTake();
                alone = true;
            }
        }

        // Outside the lock: the call is written to the connection on this thread. What lingered goes before this one.
        if (alone)
        {
            _ = RunAsync([settlement]);
        }
        else if (TakeNext() is { } batch)
        {
            _ = RunAsync(batch);
        }

        return settlement.Task;
    }

    private async Task SendAfterLingerAsync()
    {
        await Task.Delay(linger).ConfigureAwait(false);
        lock (_gate)
        {
            if (!_lingering)
            {
                // An awaited settlement took them along already.
                return;
            }

            _lingering = false;
        }

        if (TakeNext() is { } batch)
        {
            await RunAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(List<Settlement> batch)
    {
        var call = Send(batch);
        while (true)
        {
            Exception? failure = null;
            try
            {
                await call.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            var done = batch;
            var next = TakeNext();
            if (next is not null)
            {
                call = Send(next);
            }

            foreach (var settlement in done)
            {
                if (failure is null)
                {
                    settlement.TrySetResult();
                }
                else
                {
                    settlement.TrySetException(failure);
                }
            }

            if (next is null)
            {
                return;
            }

            batch = next;
        }
    }

    /// <summary>The queued settlements for the next call, or null (and nothing in flight any more) when none wait.</summary>
    private List<Settlement>? TakeNext()
    {
        lock (_gate)
        {
            List<Settlement>? batch = null;
            var arguments = 0;
            while (_queue.TryPeek(out var settlement))
            {
                if (batch is not null && (batch.Count == MaxEntries || arguments + settlement.Arguments > MaxArguments))
                {
                    break;
                }

                _queue.Dequeue();
                if (settlement.TryTake())
                {
                    (batch ??= []).Add(settlement);
                    arguments += settlement.Arguments;
                }
            }

            if (batch is null)
            {
                _sending = false;
            }

            return batch;
        }
    }

    private Task Send(List<Settlement> batch)
    {
        try
        {
            RedisKey[] keys;
            RedisValue[] values;
            IReadOnlyList<Settlement> entries = batch.Count == 1 ? batch : Merge(batch);
            if (entries.Count == 1)
            {
                keys = entries[0].Keys;
                values = entries[0].Values;
            }
            else
            {
                var keyCount = 0;
                var valueCount = 1;
                foreach (var settlement in entries)
                {
                    keyCount += settlement.Keys.Length;
                    valueCount += settlement.Values.Length - 1;
                }

                keys = new RedisKey[keyCount];
                values = new RedisValue[valueCount];
                var k = 0;
                var v = 1;
                foreach (var settlement in entries)
                {
                    settlement.Keys.CopyTo(keys, k);
                    k += settlement.Keys.Length;
                    Array.Copy(settlement.Values, 1, values, v, settlement.Values.Length - 1);
                    v += settlement.Values.Length - 1;
                }
            }

            values[0] = entries.Count;
            return redis.EvaluateAsync(LimitScripts.SettleBatch, keys, values).WaitAsync(timeout);
        }
        catch (Exception ex)
        {
            return Task.FromException(ex);
        }
    }

    /// <summary>
    /// Folds the settlements of requests admitted from the same quota leases (same subjects, spend counters, window and
    /// flags: one credential's requests on this instance) into one entry whose token delta, cost and per-subject
    /// nano-USD are the sums: Redis adds each sum once instead of once per request. Others are sent as they are.
    /// </summary>
    internal static IReadOnlyList<Settlement> Merge(List<Settlement> batch)
    {
        List<Settlement>? entries = null;
        Dictionary<Settlement, Settlement>? merged = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var settlement = batch[i];
            if (!settlement.IsLeaseSettlement)
            {
                (entries ??= new List<Settlement>(batch.Count)).Add(settlement);
                continue;
            }

            merged ??= new Dictionary<Settlement, Settlement>(LeaseSettlementComparer.Instance);
            if (merged.TryGetValue(settlement, out var sum))
            {
                sum.Add(settlement);
            }
            else
            {
                var copy = settlement.Copy();
                merged.Add(copy, copy);
                (entries ??= new List<Settlement>(batch.Count)).Add(copy);
            }
        }

        return entries!;
    }

    /// <summary>Lease settlements that may be summed: the same keys, window and per-subject flags (requests, tokens, slots given back are 0).</summary>
    private sealed class LeaseSettlementComparer : IEqualityComparer<Settlement>
    {
        public static readonly LeaseSettlementComparer Instance = new();

        public bool Equals(Settlement? x, Settlement? y)
        {
            if (x is null || y is null || x.Keys.Length != y.Keys.Length || x.Values.Length != y.Values.Length
                || x.Values[1] != y.Values[1] || x.Values[2] != y.Values[2] || x.Values[4] != y.Values[4] || x.Values[5] != y.Values[5])
            {
                return false;
            }

            for (var i = 0; i < x.Keys.Length; i++)
            {
                if (x.Keys[i] != y.Keys[i])
                {
                    return false;
                }
            }

            var n = (int)x.Values[4];
            for (var i = 0; i < n; i++)
            {
                if (x.Values[8 + i * 4] != y.Values[8 + i * 4])
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(Settlement obj) => HashCode.Combine(obj.Keys.Length, obj.Keys[0], obj.Values[2], obj.Values[5]);
    }
}
