-- Takes up to ARGV[1] entries of an agent's directed list and, when that empties it, drops the
-- agent from the set of agents with directed work, in one atomic step (an assign in between
-- cannot be lost). KEYS: list, set. ARGV: max, agent id.
local taken = redis.call('LPOP', KEYS[1], ARGV[1])
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
if not taken then return {} end
return taken
