-- Sets one field and, in the same atomic step, deletes the fields that expired by the caller's
-- clock (compare-and-delete: a field another replica just set with a later expiry is never
-- touched). KEYS: the gates hash. ARGV: now, field, until.
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local expiry = tonumber(all[i + 1])
  if all[i] ~= ARGV[2] and (expiry == nil or expiry <= now) then redis.call('HDEL', KEYS[1], all[i]) end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
