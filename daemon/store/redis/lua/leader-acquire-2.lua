-- Takes the leader lease only when free and bumps the epoch (never below ARGV[3], the floor the
-- Postgres fence names), or renews it while the value is still ours. When another replica holds it,
-- answers minus the lease's remaining time. KEYS: lease, epoch. ARGV: replica id, ttl ms, floor.
local v = redis.call('GET', KEYS[1])
if v then
  if string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ':' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(v, string.len(ARGV[1]) + 2))
  end
  local left = redis.call('PTTL', KEYS[1])
  -- A lease key without an expiry (set by hand) would otherwise make followers poll every few ms.
  if left < 0 then left = tonumber(ARGV[2]) end
  if left < 1 then left = 1 end
  return -left
end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current < tonumber(ARGV[3]) then redis.call('SET', KEYS[2], ARGV[3]) end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. epoch, 'PX', ARGV[2])
return epoch
