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
    /// for budgets, [6] subject count n, [7] this instance's id ("" to take no quota lease), [8] headroom share,
    /// [9] least lease in requests, [10] largest lease in requests, [11] quota lease ms, then per subject:
    /// requests/min, tokens/min, concurrency, budget nano-USD (-1: none), "1" when the minted-spend key counts.
    /// Returns {status, subject, retry ms, window reset ms, window, requests used × n, tokens used × n, now ms, leased
    /// (1/0), then per subject the lease granted: requests, tokens, concurrency slots, nano-USD}; status 0 admitted
    /// (and charged), 1 requests/min, 2 tokens/min, 3 concurrency, 4 budget (spent, even with nothing in flight),
    /// 5 spend counters not rebuilt, 6 budget held by the reservations of requests in flight (it frees as they
    /// finish). Nothing is charged unless every subject admits.
    /// </summary>
    /// <remarks>
    /// Quota leases (<see cref="LeaseOptions"/>): per subject a hash <c>{base}:lease</c> holds what each instance
    /// leased (<c>{instance}:r|t|c|b</c>, its window <c>{instance}:w</c>) and the totals of slots and budget
    /// (<c>#c</c>, <c>#b</c>) and of this window's requests (<c>#r</c> in <c>#w</c>); a sorted set
    /// <c>{base}:leases</c> holds each instance's lease expiry. Leased requests and tokens are added to the window's
    /// counters when granted; leased slots and budget count with the requests in flight. A lease is granted only when
    /// every subject has room for at least the least lease in each of its limits, so near a limit requests are admitted
    /// one by one, exactly as without leases.
    /// </remarks>
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
        local inst = ARGV[7]
        local share, least, most, quota = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
        local requests, tokens, busy, room = {}, {}, {}, {}
        local status, subject, retry = 0, 0, 0
        for i = 1, n do
          local base = KEYS[2 + (i - 1) * 3]
          local a = 11 + (i - 1) * 5
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
          -- Quota leases of instances that stopped renewing them (crashed) end: their slots and budget free.
          local held, leases = base .. ':lease', base .. ':leases'
          local gone = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
          if #gone > 0 then
            redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
            for _, who in ipairs(gone) do
              local f = redis.call('HMGET', held, who .. ':c', who .. ':b')
              -- (never HINCRBY by -0: Lua prints it as "-0", which Redis refuses as an integer)
              if tonumber(f[1] or '0') ~= 0 then redis.call('HINCRBY', held, '#c', 0 - tonumber(f[1])) end
              if tonumber(f[2] or '0') ~= 0 then redis.call('HINCRBY', held, '#b', 0 - tonumber(f[2])) end
              redis.call('HDEL', held, who .. ':c', who .. ':b', who .. ':r', who .. ':t', who .. ':w')
            end
          end
          local totals = redis.call('HMGET', held, '#c', '#b', '#w', '#r')
          local leasedSlots, leasedBudget = tonumber(totals[1] or '0'), tonumber(totals[2] or '0')
          local leasedRequests = totals[3] == tostring(window) and tonumber(totals[4] or '0') or 0
          requests[i] = rpm > 0 and tonumber(redis.call('GET', base .. ':rpm:' .. window) or '0') or 0
          tokens[i] = tpm > 0 and tonumber(redis.call('GET', base .. ':tpm:' .. window) or '0') or 0
          busy[i] = conc > 0 and redis.call('ZCARD', inflight) + leasedSlots or 0
          room[i] = 0
          if status == 0 then
            if rpm > 0 and requests[i] >= rpm then
              -- Part of the window may sit unused in other instances' leases, given back within a second when idle.
              status, subject, retry = 1, i, leasedRequests > 0 and math.min(1000, reset - now) or reset - now
            elseif tpm > 0 and tokens[i] >= tpm then
              status, subject, retry = 2, i, reset - now
            elseif conc > 0 and busy[i] >= conc then
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
                local taken = tonumber(redis.call('HGET', reserved, '#total') or '0') + leasedBudget
                if spent + worst > budget then
                  status, subject = 4, i
                elseif spent + taken + worst > budget then
                  status, subject, retry = 6, i, 1000
                else
                  room[i] = budget - spent - taken - worst
                end
              end
            end
          end
        end
        if status == 0 then
          for i = 1, n do
            local base = KEYS[2 + (i - 1) * 3]
            local a = 11 + (i - 1) * 5
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
            busy[i] = busy[i] + 1
            if tonumber(ARGV[a + 4]) >= 0 and worst > 0 then
              local reserved = base .. ':reserved'
              redis.call('HSET', reserved, rid, worst)
              redis.call('HINCRBY', reserved, '#total', worst)
              keep(reserved, lease)
            end
          end
        end
        local leased = 0
        local grants = {}
        if status == 0 and inst ~= '' then
          leased = 1
          for i = 1, n do
            local a = 11 + (i - 1) * 5
            local rpm, tpm, conc, budget = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
            local g = {0, 0, 0, 0}
            if rpm > 0 then
              g[1] = math.min(most, math.floor((rpm - requests[i]) / share))
              if g[1] < least then leased = 0 end
            end
            if tpm > 0 then
              g[2] = math.min(most * estimate, math.floor((tpm - tokens[i]) / share))
              if g[2] < least * math.max(estimate, 1) then leased = 0 end
            end
            if conc > 0 then
              g[3] = math.min(most, math.floor((conc - busy[i]) / share))
              if g[3] < least then leased = 0 end
            end
            if budget >= 0 and worst > 0 then
              g[4] = math.min(most * worst, math.floor(room[i] / share))
              if g[4] < least * worst then leased = 0 end
            end
            grants[i] = g
          end
        end
        if leased == 1 then
          local w = tostring(window)
          for i = 1, n do
            local base = KEYS[2 + (i - 1) * 3]
            local held, leases = base .. ':lease', base .. ':leases'
            local g = grants[i]
            if redis.call('HGET', held, inst .. ':w') ~= w then
              redis.call('HSET', held, inst .. ':w', w, inst .. ':r', 0, inst .. ':t', 0)
            end
            if g[1] > 0 then
              requests[i] = redis.call('INCRBY', base .. ':rpm:' .. window, g[1])
              redis.call('HINCRBY', held, inst .. ':r', g[1])
              if redis.call('HGET', held, '#w') ~= w then redis.call('HSET', held, '#w', w, '#r', 0) end
              redis.call('HINCRBY', held, '#r', g[1])
            end
            if g[2] > 0 then
              tokens[i] = redis.call('INCRBY', base .. ':tpm:' .. window, g[2])
              redis.call('HINCRBY', held, inst .. ':t', g[2])
            end
            if g[3] > 0 then
              redis.call('HINCRBY', held, inst .. ':c', g[3])
              redis.call('HINCRBY', held, '#c', g[3])
            end
            if g[4] > 0 then
              redis.call('HINCRBY', held, inst .. ':b', g[4])
              redis.call('HINCRBY', held, '#b', g[4])
            end
            redis.call('ZADD', leases, now + quota, inst)
            keep(leases, quota)
            keep(held, quota)
          end
        end
        local reply = {status, subject, retry, reset, window}
        for i = 1, n do reply[5 + i] = requests[i] end
        for i = 1, n do reply[5 + n + i] = tokens[i] end
        reply[6 + 2 * n] = now
        reply[7 + 2 * n] = leased
        if leased == 1 then
          for i = 1, n do
            for j = 1, 4 do reply[7 + 2 * n + (i - 1) * 4 + j] = grants[i][j] end
          end
        end
        return reply
        """);

    /// <summary>
    /// Settlement of one or more requests and quota leases (group commit: the settlements that arrive while one call is
    /// in flight go together in the next). ARGV: [1] entry count, then per entry: id, window, actual − estimated tokens,
    /// n subjects, m spend counters (0 when the cost is 0), cost nano-USD, then per subject its flags, then per spend
    /// counter its expiry (Unix s, 0: none). KEYS: per entry its n subject bases, then its m spend counters.
    /// <list type="bullet">
    /// <item>A request (id: its request id; per subject one flag, "1" when its tokens/min was charged): releases its
    /// concurrency slot and reservation, corrects the window's tokens (if that window still exists), adds the cost.</item>
    /// <item>A quota lease (id: <c>@</c> or, to end it, <c>!</c>, then the instance; per subject four values: requests
    /// given back, "1" when tokens/min applies, slots given back, nano-USD taken off the lease): adds the token delta to
    /// the window (tokens used beyond the lease, or given back), gives back what it names, and moves the cost from the
    /// lease into the spend counters. An ended lease leaves nothing behind; a lease Redis already expired is not touched.</item>
    /// </list>
    /// Returns the entry count.
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
          local mark = string.sub(rid, 1, 1)
          if mark == '@' or mark == '!' then
            local inst = string.sub(rid, 2)
            for i = 1, n do
              local base = KEYS[k + i]
              local o = a + (i - 1) * 4
              local dr, dc, db = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4])
              local held = base .. ':lease'
              local live = redis.call('ZSCORE', base .. ':leases', inst)
              if delta ~= 0 and ARGV[o + 2] == '1' then
                local key = base .. ':tpm:' .. window
                if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, delta) end
                if delta < 0 and live and redis.call('HGET', held, inst .. ':w') == window then redis.call('HINCRBY', held, inst .. ':t', delta) end
              end
              if live then
                if dr > 0 then
                  local key = base .. ':rpm:' .. window
                  if redis.call('EXISTS', key) == 1 then redis.call('DECRBY', key, dr) end
                  if redis.call('HGET', held, inst .. ':w') == window then redis.call('HINCRBY', held, inst .. ':r', -dr) end
                  if redis.call('HGET', held, '#w') == window then redis.call('HINCRBY', held, '#r', -dr) end
                end
                if mark == '!' then
                  local f = redis.call('HMGET', held, inst .. ':c', inst .. ':b')
                  if tonumber(f[1] or '0') ~= 0 then redis.call('HINCRBY', held, '#c', 0 - tonumber(f[1])) end
                  if tonumber(f[2] or '0') ~= 0 then redis.call('HINCRBY', held, '#b', 0 - tonumber(f[2])) end
                  redis.call('HDEL', held, inst .. ':c', inst .. ':b', inst .. ':r', inst .. ':t', inst .. ':w')
                  redis.call('ZREM', base .. ':leases', inst)
                else
                  if dc > 0 then
                    redis.call('HINCRBY', held, inst .. ':c', -dc)
                    redis.call('HINCRBY', held, '#c', -dc)
                  end
                  if db > 0 then
                    redis.call('HINCRBY', held, inst .. ':b', -db)
                    redis.call('HINCRBY', held, '#b', -db)
                  end
                end
              end
            end
            a = a + n * 4
          else
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
            a = a + n
          end
          if tonumber(cost) > 0 then
            for j = 1, m do
              local key = KEYS[k + n + j]
              -- Whoever creates a spend counter dates it (this script, AddSpend, the UsageWorker's rebuild).
              if redis.call('INCRBY', key, cost) == tonumber(cost) then
                local expireAt = tonumber(ARGV[a + j])
                if expireAt > 0 then redis.call('EXPIREAT', key, expireAt) end
              end
            end
          end
          k = k + n + m
          a = a + m
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
    /// Renewal of this instance's quota leases. KEYS: subject bases; ARGV: [1] lease ms, [2] the instance. Returns per key
    /// 1 when the lease was still held (and is extended), 0 when Redis already ended it (the instance drops it).
    /// </summary>
    public static readonly RedisScript RenewLeases = new("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local quota = tonumber(ARGV[1])
        local held = {}
        for i = 1, #KEYS do
          local leases = KEYS[i] .. ':leases'
          local expires = redis.call('ZSCORE', leases, ARGV[2])
          if expires and tonumber(expires) > now then
            redis.call('ZADD', leases, 'XX', now + quota, ARGV[2])
            redis.call('PEXPIRE', leases, quota * 2)
            redis.call('PEXPIRE', KEYS[i] .. ':lease', quota * 2)
            held[i] = 1
          else
            held[i] = 0
          end
        end
        return held
        """);

    /// <summary>
    /// Read-only usage of subjects (admin view). KEYS: per subject base, spent, minted spent. ARGV: [1] n, then per
    /// subject "1" when the minted spend counts. Returns {now ms, window reset ms, then per subject: requests, tokens,
    /// in flight, reserved nano-USD, spent nano-USD, the number of live quota leases k, then per lease: instance,
    /// expiry ms, requests and tokens leased in this window, slots, nano-USD} (expired leases excluded).
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
          table.insert(reply, tonumber(redis.call('GET', base .. ':rpm:' .. window) or '0'))
          table.insert(reply, tonumber(redis.call('GET', base .. ':tpm:' .. window) or '0'))
          table.insert(reply, #live)
          table.insert(reply, reserved)
          table.insert(reply, spent)
          local holders = redis.call('ZRANGEBYSCORE', base .. ':leases', '(' .. now, '+inf', 'WITHSCORES')
          table.insert(reply, #holders / 2)
          for h = 1, #holders, 2 do
            local who = holders[h]
            local f = redis.call('HMGET', base .. ':lease', who .. ':w', who .. ':r', who .. ':t', who .. ':c', who .. ':b')
            local current = f[1] == tostring(window)
            table.insert(reply, who)
            table.insert(reply, tonumber(holders[h + 1]))
            table.insert(reply, current and tonumber(f[2] or '0') or 0)
            table.insert(reply, current and tonumber(f[3] or '0') or 0)
            table.insert(reply, tonumber(f[4] or '0'))
            table.insert(reply, tonumber(f[5] or '0'))
          end
        end
        return reply
        """);
}
