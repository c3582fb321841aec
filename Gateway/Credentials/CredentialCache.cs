using System.Collections.Concurrent;
using LlmGateway.Contracts.Credentials;
using LlmGateway.Gateway.Configuration;
using Microsoft.Extensions.Options;

namespace LlmGateway.Gateway.Credentials;

/// <summary>
/// Bounded, short-lived cache of resolved credentials, keyed by hash. Revocation messages evict at once; a lookup
/// that raced with an eviction is not stored (see <see cref="Epoch"/>), so a revoked credential cannot be re-cached
/// from a read that started before the revocation.
/// </summary>
internal sealed class CredentialCache
{
    private readonly ConcurrentDictionary<CredentialHash, Entry> _entries = new();
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly long _ttl;
    private readonly long _negativeTtl;
    private readonly long _staleTtl;
    private readonly long _unconfirmedTtl;
    private readonly Lock _sweepLock = new();
    private long _epoch;
    private int _count;

    public CredentialCache(IOptions<CredentialCacheOptions> options, TimeProvider time)
    {
        _time = time;
        var o = options.Value;
        _capacity = o.Capacity;
        _ttl = ToTimestampTicks(o.Ttl);
        _negativeTtl = ToTimestampTicks(o.NegativeTtl);
        _staleTtl = ToTimestampTicks(o.StaleTtl);
        _unconfirmedTtl = ToTimestampTicks(o.UnconfirmedTtl);
    }

    /// <summary>Incremented by every eviction; a lookup stores its result only if the epoch did not move meanwhile.</summary>
    public long Epoch => Volatile.Read(ref _epoch);

    public int Count => Volatile.Read(ref _count);

    public long Now => _time.GetTimestamp();

    public bool TryGet(in CredentialHash hash, out Entry entry) => _entries.TryGetValue(hash, out entry!);

    public void StoreFound(in CredentialHash hash, CredentialProjection projection, long epoch)
    {
        var now = _time.GetTimestamp();
        var ttl = _ttl;
        if (projection.ExpiresAt is { } expiresAt)
        {
            var remaining = ToTimestampTicks(expiresAt - _time.GetUtcNow());
            ttl = Math.Clamp(remaining, 0, ttl);
        }

        Store(hash, new Entry(projection, now + ttl, now + Math.Max(ttl, _staleTtl), now + _unconfirmedTtl), epoch);
    }

    public void StoreNotFound(in CredentialHash hash, long epoch, CredentialRefusal refusal = CredentialRefusal.Unknown)
    {
        if (_negativeTtl <= 0)
        {
            return;
        }

        var now = _time.GetTimestamp();
        Store(hash, new Entry(null, now + _negativeTtl, now + _negativeTtl, now + _negativeTtl, refusal), epoch);
    }

    public void Evict(in CredentialHash hash)
    {
        Interlocked.Increment(ref _epoch);
        if (_entries.TryRemove(hash, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    public void Clear()
    {
        Interlocked.Increment(ref _epoch);
        lock (_sweepLock)
        {
            _entries.Clear();
            Volatile.Write(ref _count, 0);
        }
    }

    private void Store(in CredentialHash hash, Entry entry, long epoch)
    {
        if (Volatile.Read(ref _epoch) != epoch)
        {
            return;
        }

        if (Volatile.Read(ref _count) >= _capacity)
        {
            Sweep();
        }

        if (_entries.TryAdd(hash, entry))
        {
            Interlocked.Increment(ref _count);
        }
        else
        {
            _entries[hash] = entry;
        }

        // An eviction between the epoch check and the write must win.
        if (Volatile.Read(ref _epoch) != epoch && _entries.TryRemove(new KeyValuePair<CredentialHash, Entry>(hash, entry)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private void Sweep()
    {
        if (!_sweepLock.TryEnter())
        {
            return;
        }

        try
        {
            var now = _time.GetTimestamp();
            foreach (var (key, value) in _entries)
            {
                if (value.StaleUntil <= now)
                {
                    _entries.TryRemove(new KeyValuePair<CredentialHash, Entry>(key, value));
                }
            }

            // Still full of live entries: drop an arbitrary tenth (hash order is random) rather than grow.
            var excess = _entries.Count - (_capacity - _capacity / 10);
            if (excess > 0)
            {
                foreach (var key in _entries.Keys)
                {
                    if (excess-- <= 0)
                    {
                        break;
                    }

                    _entries.TryRemove(key, out _);
                }
            }

            Volatile.Write(ref _count, _entries.Count);
        }
        finally
        {
            _sweepLock.Exit();
        }
    }

    private long ToTimestampTicks(TimeSpan span) =>
        span <= TimeSpan.Zero ? 0 : (long)(span.TotalSeconds * _time.TimestampFrequency);

    /// <summary>
    /// A cached answer: a projection, or "no such credential" when <see cref="Projection"/> is null.
    /// <see cref="ConfirmedUntil"/> bounds how long it is trusted while revocations cannot be received.
    /// </summary>
    internal sealed record Entry(
        CredentialProjection? Projection, long FreshUntil, long StaleUntil, long ConfirmedUntil, CredentialRefusal Refusal = CredentialRefusal.Unknown)
    {
        public bool IsFresh(long now) => now < FreshUntil;

        public bool IsFresh(long now, bool revocationsArrive) => now < (revocationsArrive ? FreshUntil : Math.Min(FreshUntil, ConfirmedUntil));

        public bool IsUsableWhenUnavailable(long now) => Projection is not null && now < StaleUntil;
    }
}
