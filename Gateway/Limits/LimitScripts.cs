using LlmGateway.Gateway.Redis;

namespace LlmGateway.Gateway.Limits;

/// <summary>
/// The limit scripts. Each runs atomically in Redis, so two gateway instances can never both take the last request of a
/// window, the last concurrency slot or the last part of a budget. Windows and leases use Redis' own clock
/// (<c>TIME</c>), so instances with skewed clocks still share one window.
/// </summary>
/// <remarks>
/// Keys are built inside the scripts from each subject's base key (<c>{base}:rpm:{minute}</c> …), so these scripts
/// need a single Redis (or a primary with replicas / Sentinel), not Redis Cluster: one admission touches the keys of
/// several subjects (credential, ancestors, owner), which hash to different slots.
/// </remarks>
internal static class LimitScripts
{
    public const long WindowMs = 60_000;

    /// <summary>
    /// Admission. KEYS: [1] the spend-rebuilt marker, then per subject: base, spent (its budget period), minted spent.
    /// ARGV: [1] request id, [2] lease ms, [3] tokens estimate, [4] worst-case nano-USD, [5] "1" to require the marker
    /// for budgets, [6] subject count n, then per subject: requests/min, tokens/min, concurrency, budget nano-USD (-1:
    /// none), "1" when the minted-spend key counts. Returns {status, subject, retry ms, window reset ms, window, requests
    /// used × n, tokens used × n}; status 0 admitted (and charged), 1 requests/min, 2 tokens/min, 3 concurrency,
    /// 4 budget (spent, even with nothing in flight), 5 spend counters not rebuilt, 6 budget held by the reservations of
    /// requests in flight (it frees as they finish). Nothing is charged unless every subject admits.
    /// </summary>
    public static readonly RedisScript Admit = new("""
        -- A key that holds leases must outlive them: extended to two leases once less than one is left (an expiry
        -- is a write Redis propagates to its AOF, so not on every call).
        local function keep(key, lease)
          if redis.call('PTTL', key) < lease then redis.call('PEXPIRE', key, lease * 2) end
        end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local window = math.floor(now / 60000)
        local reset = (window + 1) * 60000
        local rid = ARGV[1]
        local lease = tonumber(ARGV[2])
        local estimate = tonumber(ARGV[3])
        local worst = tonumber(ARGV[4])
        local n = tonumber(ARGV[6])
        local requests, tokens = {}, {}
        local status, subject, retry = 0, 0, 0
        for i = 1, n do
          local base = KEYS[2 + (i - 1) * 3]
          local a = 6 + (i - 1) * 5
          local rpm, tpm, conc, budget = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
          local inflight, reserved = base .. ':inflight', base .. ':reserved'
          local expired = redis.call('ZRANGEBYSCORE', inflight, '-inf', now)
          if #expired > 0 then
            redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)
            for _, id in ipairs(expired) do
              local amount = redis.call('HGET', reserved, id)
              if amount then
                redis.call('HDEL', reserved, id)
                redis.call('HINCRBY', reserved, '#total', -tonumber(amount))
              end
            end
          end
          requests[i] = rpm > 0 and tonumber(redis.call('GET', base .. ':rpm:' .. window) or '0') or 0
          tokens[i] = tpm > 0 and tonumber(redis.call('GET', base .. ':tpm:' .. window) or '0') or 0
          if status == 0 then
            if rpm > 0 and requests[i] >= rpm then
              status, subject, retry = 1, i, reset - now
            elseif tpm > 0 and tokens[i] >= tpm then
              status, subject, retry = 2, i, reset - now
            elseif conc > 0 and redis.call('ZCARD', inflight) >= conc then
              status, subject, retry = 3, i, 1000
            elseif budget >= 0 then
              if ARGV[5] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
                status, subject = 5, i
              else
                local spent
                if ARGV[a + 5] == '1' then
                  local both = redis.call('MGET', KEYS[3 + (i - 1) * 3], KEYS[4 + (i - 1) * 3])
                  spent = tonumber(both[1] or '0') + tonumber(both[2] or '0')
                else
                  spent = tonumber(redis.call('GET', KEYS[3 + (i - 1) * 3]) or '0')
                end
                local held = tonumber(redis.call('HGET', reserved, '#total') or '0')
                if spent + worst > budget then
                  status, subject = 4, i
                elseif spent + held + worst > budget then
                  status, subject, retry = 6, i, 1000
                end
              end
            end
          end
        end
        if status == 0 then
          for i = 1, n do
            local base = KEYS[2 + (i - 1) * 3]
            local a = 6 + (i - 1) * 5
            if tonumber(ARGV[a + 1]) > 0 then
              local key = base .. ':rpm:' .. window
              requests[i] = redis.call('INCR', key)
              if requests[i] == 1 then redis.call('PEXPIRE', key, 120000) end
            end
            if tonumber(ARGV[a + 2]) > 0 then
              local key = base .. ':tpm:' .. window
              tokens[i] = redis.call('INCRBY', key, estimate)
              if tokens[i] == estimate then redis.call('PEXPIRE', key, 120000) end
            end
            local inflight = base .. ':inflight'
            redis.call('ZADD', inflight, now + lease, rid)
            keep(inflight, lease)
            if tonumber(ARGV[a + 4]) >= 0 and worst > 0 then
              local reserved = base .. ':reserved'
              redis.call('HSET', reserved, rid, worst)
              redis.call('HINCRBY', reserved, '#total', worst)
              keep(reserved, lease)
            end
          end
        end
        local reply = {status, subject, retry, reset, window}
        for i = 1, n do reply[5 + i] = requests[i] end
        for i = 1, n do reply[5 + n + i] = tokens[i] end
        return reply
        """);

    /// <summary>
    /// Settlement of one or more requests (group commit: the settlements that arrive while one call is in flight go
    /// together in the next). ARGV: [1] entry count, then per entry: request id, window, actual − estimated tokens,
    /// n subjects, m spend counters (0 when the cost is 0), cost nano-USD, then per subject "1" when its tokens/min was
    /// charged, then per spend counter its expiry (Unix s, 0: none). KEYS: per entry its n subject bases, then its m
    /// spend counters. Per entry: releases the concurrency slot and the reservation, corrects the window's tokens (if
    /// that window still exists) and adds the cost. Returns the entry count.
    /// </summary>
    public static readonly RedisScript SettleBatch = new("""
        local entries = tonumber(ARGV[1])
        local k, a = 0, 1
        for e = 1, entries do
          local rid = ARGV[a + 1]
          local window = ARGV[a + 2]
          local delta = tonumber(ARGV[a + 3])
          local n = tonumber(ARGV[a + 4])
          local m = tonumber(ARGV[a + 5])
          local cost = ARGV[a + 6]
          a = a + 6
          for i = 1, n do
            local base = KEYS[k + i]
            redis.call('ZREM', base .. ':inflight', rid)
            local reserved = base .. ':reserved'
            local amount = redis.call('HGET', reserved, rid)
            if amount then
              redis.call('HDEL', reserved, rid)
              redis.call('HINCRBY', reserved, '#total', -tonumber(amount))
            end
            if delta ~= 0 and ARGV[a + i] == '1' then
              local key = base .. ':tpm:' .. window
              if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, delta) end
            end
          end
          if tonumber(cost) > 0 then
            for j = 1, m do
              local key = KEYS[k + n + j]
              -- Whoever creates a spend counter dates it (this script, AddSpend, the UsageWorker's rebuild).
              if redis.call('INCRBY', key, cost) == tonumber(cost) then
                local expireAt = tonumber(ARGV[a + n + j])
                if expireAt > 0 then redis.call('EXPIREAT', key, expireAt) end
              end
            end
          end
          k = k + n + m
          a = a + n + m
        end
        return entries
        """);

    /// <summary>Adds spend that could not be settled earlier. KEYS: counters; ARGV: per counter amount, expiry (Unix s, 0: none).</summary>
    public static readonly RedisScript AddSpend = new("""
        for i = 1, #KEYS do
          redis.call('INCRBY', KEYS[i], ARGV[i * 2 - 1])
          local expireAt = tonumber(ARGV[i * 2])
          if expireAt > 0 and redis.call('TTL', KEYS[i]) == -1 then redis.call('EXPIREAT', KEYS[i], expireAt) end
        end
        return #KEYS
        """);

    /// <summary>
    /// Lease renewal of requests still in flight. KEYS: subject bases; ARGV: [1] lease ms, then the request id of each
    /// key. Only existing leases are extended (a settled or swept request is not brought back).
    /// </summary>
    public static readonly RedisScript Renew = new("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local lease = tonumber(ARGV[1])
        local renewed = 0
        for i = 1, #KEYS do
          local inflight = KEYS[i] .. ':inflight'
          if redis.call('ZSCORE', inflight, ARGV[i + 1]) then
            redis.call('ZADD', inflight, 'XX', now + lease, ARGV[i + 1])
            redis.call('PEXPIRE', inflight, lease * 2)
            redis.call('PEXPIRE', KEYS[i] .. ':reserved', lease * 2)
            renewed = renewed + 1
          end
        end
        return renewed
        """);

    /// <summary>
    /// Read-only usage of subjects (admin view). KEYS: per subject base, spent, minted spent. ARGV: [1] n, then per
    /// subject "1" when the minted spend counts. Returns {now ms, window reset ms, then per subject: requests, tokens,
    /// in flight, reserved nano-USD, spent nano-USD} (expired leases excluded).
    /// </summary>
    public static readonly RedisScript Read = new("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local window = math.floor(now / 60000)
        local reply = {now, (window + 1) * 60000}
        local n = tonumber(ARGV[1])
        for i = 1, n do
          local base = KEYS[1 + (i - 1) * 3]
          local live = redis.call('ZRANGEBYSCORE', base .. ':inflight', '(' .. now, '+inf')
          local reserved = 0
          for _, id in ipairs(live) do
            reserved = reserved + tonumber(redis.call('HGET', base .. ':reserved', id) or '0')
          end
          local spent = tonumber(redis.call('GET', KEYS[2 + (i - 1) * 3]) or '0')
          if ARGV[1 + i] == '1' then spent = spent + tonumber(redis.call('GET', KEYS[3 + (i - 1) * 3]) or '0') end
          local o = 2 + (i - 1) * 5
          reply[o + 1] = tonumber(redis.call('GET', base .. ':rpm:' .. window) or '0')
          reply[o + 2] = tonumber(redis.call('GET', base .. ':tpm:' .. window) or '0')
          reply[o + 3] = #live
          reply[o + 4] = reserved
          reply[o + 5] = spent
        end
        return reply
        """);
}
