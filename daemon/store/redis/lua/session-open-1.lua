-- A session of an agent opens: it becomes the agent's current session, and the one it replaces
-- (closed without a goodbye, or still half-open) is returned, so the caller can count a resume.
-- KEYS: sessions hash. ARGV: agent id, session id.
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return previous
