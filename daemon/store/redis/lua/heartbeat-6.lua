-- One round trip per heartbeat: check the agent is live, stamp the Redis clock, keep a moving
-- average of the gap between beats, collect pending commands, and list leases the agent has held
-- for more than ARGV[5] ms but no longer reports (when it reports its task ids at all).
-- KEYS: agent states, heartbeats, agent info, commands, leases, suspects.
-- ARGV: agent id, status, load, reports tasks ('1'/'0'), grace ms, reported task ids...
local state = redis.call('HGET', KEYS[1], ARGV[1])
if not state then return {'unknown'} end
if state == 'dead' or state == 'left' then return {state} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = redis.call('ZSCORE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
local gap = redis.call('HGET', KEYS[3], 'gap')
if prev then
  local g = now - tonumber(prev)
  if gap and gap ~= '' then gap = math.floor(0.8 * tonumber(gap) + 0.2 * g) else gap = g end
end
redis.call('HSET', KEYS[3], 'status', ARGV[2], 'load', ARGV[3], 'gap', gap or '', 'beats',
  (tonumber(redis.call('HGET', KEYS[3], 'beats') or '0') + 1))
local cmds = redis.call('LRANGE', KEYS[4], 0, -1)
if #cmds > 0 then redis.call('DEL', KEYS[4]) end
local forgotten = {}
if ARGV[4] == '1' then
  -- A lease is forgotten only when two heartbeats in a row leave it out: one may have been sent
  -- before the claim answer reached the agent.
  local reported = {}
  for i = 6, #ARGV do reported[ARGV[i]] = true end
  local held = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[5]))
  local suspects = {}
  for _, id in ipairs(held) do
    if not reported[id] then
      if redis.call('SISMEMBER', KEYS[6], id) == 1 then table.insert(forgotten, id) else table.insert(suspects, id) end
    end
  end
  redis.call('DEL', KEYS[6])
  if #suspects > 0 then redis.call('SADD', KEYS[6], unpack(suspects)) end
end
return {state, cmds, forgotten}
