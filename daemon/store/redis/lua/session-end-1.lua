-- Ends a session if it is still the agent's current one (no reconnect took over, on any replica).
-- 1 when it was: the caller may act on the agent's disconnect. KEYS: sessions hash. ARGV: agent id, session id.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
