-- Adds leases missing from the mirror (keeping the grant time of those present); returns how many.
-- KEYS: the agent's leases. ARGV: task ids.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = 0
for i = 1, #ARGV do added = added + redis.call('ZADD', KEYS[1], 'NX', now, ARGV[i]) end
return added
