using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Limits;

/// <summary>One spend counter's amount not yet added to Redis.</summary>
internal readonly record struct PendingSpendEntry(string Key, long AmountNanoUsd, long ExpireAt);

/// <summary>
/// Spend of requests settled while Redis could not take it, summed per counter until <see cref="LimitMaintenance"/>
/// adds it (so budgets see it once Redis is back; the durable record is the usage event either way).
/// </summary>
/// <remarks>
/// A settlement that timed out may still have reached Redis; adding it again then counts that request twice. That
/// errs on the safe side of a budget and needs a timeout at the very moment of the write.
/// </remarks>
internal sealed class PendingSpend(IOptions<LimitOptions> options)
{
    private readonly int _capacity = options.Value.PendingSpendCapacity;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (long Amount, long ExpireAt)> _byKey = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byKey.Count;
            }
        }
    }

    /// <summary>Adds <paramref name="amount"/> to each counter; false when the capacity left no room for some of them.</summary>
    public bool Add(string[] keys, long[] expireAt, long amount)
    {
        var complete = true;
        lock (_gate)
        {
            for (var i = 0; i < keys.Length; i++)
            {
                if (_byKey.TryGetValue(keys[i], out var pending))
                {
                    _byKey[keys[i]] = (pending.Amount + amount, Math.Max(pending.ExpireAt, expireAt[i]));
                }
                else if (_byKey.Count < _capacity)
                {
                    _byKey[keys[i]] = (amount, expireAt[i]);
                }
                else
                {
                    complete = false;
                }
            }
        }

        return complete;
    }

    /// <summary>Removes and returns up to <paramref name="max"/> counters; give them back with <see cref="Return"/> if they cannot be written.</summary>
    public List<PendingSpendEntry> Take(int max)
    {
        lock (_gate)
        {
            var taken = new List<PendingSpendEntry>(Math.Min(max, _byKey.Count));
            foreach (var (key, (amount, expireAt)) in _byKey)
            {
                if (taken.Count == max)
                {
                    break;
                }

                taken.Add(new PendingSpendEntry(key, amount, expireAt));
            }

            foreach (var entry in taken)
            {
                _byKey.Remove(entry.Key);
            }

            return taken;
        }
    }

    public void Return(IEnumerable<PendingSpendEntry> entries)
    {
        lock (_gate)
        {
            foreach (var entry in entries)
            {
                _byKey[entry.Key] = _byKey.TryGetValue(entry.Key, out var pending)
                    ? (pending.Amount + entry.AmountNanoUsd, Math.Max(pending.ExpireAt, entry.ExpireAt))
                    : (entry.AmountNanoUsd, entry.ExpireAt);
            }
        }
    }
}
