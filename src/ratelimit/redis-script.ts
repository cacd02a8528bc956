/**
 * One Lua script decides every algorithm atomically in one round trip. KEYS[1] is the state
 * (a hash, or a sorted set for the log), KEYS[2] the block marker; both carry the same
 * `{hash tag}` so they live in one Redis Cluster slot. Every key gets a TTL when it is created
 * (for the windows: when a window begins; later writes in that window keep it): nothing leaks.
 * ARGV: algorithm, now (ms), limit, window (ms), cost, block duration (ms).
 * Returns {allowed (0|1), remaining, reset_ms, retry_after_ms} as integers.
 * The arithmetic mirrors memory-algorithms.ts exactly.
 */
export const RATE_LIMIT_LUA = `
local state_key, block_key = KEYS[1], KEYS[2]
local algo = ARGV[1]
local now = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local block_ms = tonumber(ARGV[6])
-- TTLs get a little slack beyond the moment the state stops mattering: the state itself says
-- which window it belongs to, so a late expiry is harmless, while an early one (Redis' clock
-- slightly ahead of the caller's) would forget a counter.
local slack = 1000

if block_ms > 0 then
  -- The block stores its end on the callers' clock (like every other timestamp here); the
  -- key's own TTL only cleans it up.
  local blocked_until = tonumber(redis.call('GET', block_key))
  if blocked_until and blocked_until > now then
    local wait = blocked_until - now
    return {0, 0, wait, wait}
  end
end

local allowed, remaining, reset, retry = 0, 0, 0, 0

if algo == 'fixed-window' or algo == 'sliding-window' then
  local start = now - (now % window)
  local values = redis.call('HMGET', state_key, 'w', 'c', 'p')
  local w, c, p = tonumber(values[1]), tonumber(values[2]) or 0, tonumber(values[3]) or 0
  -- A state up to one window ahead was written by an instance whose clock is ahead of ours
  -- (or ours stepped back): join its window instead of restarting an older one, which would
  -- wipe its count and let each instance at a window edge reset the other's counter.
  if w and w > start and w - start <= window then start = w end
  if w ~= start then
    if algo == 'sliding-window' and w == start - window then p = c else p = 0 end
    c = 0
  end
  if algo == 'fixed-window' then p = 0 end
  -- Negative (by the clock skew) when we joined a window that starts after now.
  local elapsed = now - start
  local estimate = c
  if algo == 'sliding-window' then estimate = (p * (window - math.max(0, elapsed))) / window + c end
  reset = window - elapsed
  if estimate + cost <= limit then
    allowed = 1
    remaining = limit - (estimate + cost)
    -- A look (cost 0) at a key with no state stores nothing, as in memory: a state it wrote
    -- would start a window that later decisions join, and every look would create a key.
    if w ~= start and (cost > 0 or w ~= nil) then
      redis.call('HSET', state_key, 'w', start, 'c', c + cost, 'p', p)
      -- The state expires at a fixed moment of its window (start + window, or + 2 windows for
      -- the sliding estimate, plus slack): setting it when the window begins is enough.
      if algo == 'fixed-window' then
        redis.call('PEXPIRE', state_key, reset + slack)
      else
        redis.call('PEXPIRE', state_key, window + reset + slack)
      end
    elseif cost > 0 then
      -- Same window: only the count moves, and the TTL set at the window's start still holds.
      -- One field and no PEXPIRE keep the script's Redis-side cost down (it is paid serially
      -- by every decision in flight on the connection).
      redis.call('HSET', state_key, 'c', c + cost)
    end
  else
    remaining = limit - estimate
    if algo == 'fixed-window' or cost > limit then
      retry = reset
    elseif c + cost <= limit then
      retry = window * (1 - (limit - cost - c) / p) - elapsed
    else
      retry = reset + window * (1 - (limit - cost) / c)
    end
  end
elseif algo == 'sliding-log' then
  redis.call('ZREMRANGEBYSCORE', state_key, '-inf', now - window)
  local count = redis.call('ZCARD', state_key)
  if count + cost <= limit then
    allowed = 1
    -- Members must be unique or ZADD overwrites one and a request goes unrecorded. Numbering by
    -- the entries already at this score keeps them unique: a score's entries are only ever
    -- removed all together. (Numbering by the whole count was not: a decision with a later
    -- clock could prune the log in between, and the next one at this ms reused a member.)
    local same = redis.call('ZCOUNT', state_key, now, now)
    for i = 1, cost do
      redis.call('ZADD', state_key, now, now .. ':' .. (same + i))
    end
    if count + cost > 0 then redis.call('PEXPIRE', state_key, window + slack) end
    remaining = limit - count - cost
  else
    remaining = limit - count
    if cost > limit then
      retry = window
    else
      local blocking = redis.call('ZRANGE', state_key, count + cost - limit - 1, count + cost - limit - 1, 'WITHSCORES')
      retry = tonumber(blocking[2]) + window - now
    end
  end
  local oldest = redis.call('ZRANGE', state_key, 0, 0, 'WITHSCORES')
  if oldest[2] then reset = tonumber(oldest[2]) + window - now end
elseif algo == 'token-bucket' then
  local rate = limit / window
  local values = redis.call('HMGET', state_key, 't', 'u')
  local tokens, updated = tonumber(values[1]), tonumber(values[2])
  if tokens == nil or updated == nil then tokens = limit; updated = now end
  if now > updated then
    tokens = math.min(limit, tokens + (now - updated) * rate)
    updated = now
  end
  -- The same relative tolerance as memory-algorithms.ts: a refill landing ulps short of cost.
  if tokens + limit * 1e-12 >= cost then
    allowed = 1
    tokens = math.max(0, tokens - cost)
  end
  remaining = tokens
  reset = (limit - tokens) / rate
  if cost > limit then retry = window else retry = (cost - tokens) / rate end
  -- A look at a key with no state stores nothing (a full bucket is what no state means anyway).
  if cost > 0 or values[1] then
    redis.call('HSET', state_key, 't', string.format('%.17g', tokens), 'u', updated)
    redis.call('PEXPIRE', state_key, math.max(1, math.ceil(updated + reset - now)) + slack)
  end
else
  return redis.error_reply('unknown rate-limit algorithm')
end

if allowed == 1 then
  retry = 0
else
  retry = math.max(1, math.ceil(retry))
  if block_ms > 0 then
    -- The block lasts its duration, or until the limit lets a request through again if that is
    -- later: the wait announced now is then the wait every later denial announces too.
    retry = math.max(retry, block_ms)
    redis.call('SET', block_key, now + retry, 'PX', retry + slack)
    remaining = 0
    reset = math.max(reset, retry)
  end
end
return {allowed, math.max(0, math.floor(remaining)), math.max(0, math.ceil(reset)), retry}
`;
