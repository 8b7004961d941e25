-- Overdue agents with their state, using the Redis clock for "now".
-- KEYS: heartbeats, agent states. ARGV: silence ms, max rows.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {now}
for i = 1, #rows, 2 do
  table.insert(out, rows[i])
  table.insert(out, rows[i + 1])
  table.insert(out, redis.call('HGET', KEYS[2], rows[i]) or '')
end
return out
