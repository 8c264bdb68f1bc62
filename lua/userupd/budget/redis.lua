-- userupd.budget.redis: a shared budget in Redis, so clients on several
-- machines pace one budget per vendor and credential.  Each take and
-- spend is one server-side script (EVAL), atomic in Redis, and reads the
-- time from Redis itself, so the machines' clocks do not matter.
--
--   local budget = require("userupd.budget.redis").new{
--     host = "10.0.0.5", port = 6379 }      -- or client = <connected client>
--   local c = userupd.thoughtindustries{ api_key = key, shared_budget = budget }
--
-- new{...}: host (127.0.0.1), port (6379), prefix ("userupd:"), or client:
-- any connected object with eval(script, numkeys, key..., arg...), such as
-- lua-redis's (Debian's lua-redis, on LuaSocket; under Lua 5.4 add
-- /usr/share/lua/5.3/?.lua to LUA_PATH).  The core calls take and spend
-- from C, so the client must not yield: use lua-redis, not
-- lua-resty-redis inside nginx (there use userupd.budget.ngx per nginx).
--
-- Keys: <prefix>tat:<key> (the bucket, expires once full again) and
-- <prefix>day:<key>:<day> (the quota count, two days).  <key> is a hash
-- of the vendor and the credential (src/loops/budget.c), never the secret.
-- The quota script builds its key from the day it reads, so it is not
-- declared up front: fine on one Redis, not on a Redis Cluster.

local M = {}
local Store = {}
Store.__index = Store

-- tat = max(tat + 1/rate, now - (burst - 1)/rate); the wait, as text (a
-- Lua number returned from a script is cut to an integer).
local TAKE = [[
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = (tonumber(redis.call('GET', KEYS[1])) or 0) + 1 / rate
local least = now - (burst - 1) / rate
if tat < least then tat = least end
local ttl = math.ceil((tat - now + math.max(burst, 1) / rate) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', tat), 'PX', ttl)
return string.format('%.6f', math.max(0, tat - now))
]]

local SPEND = [[
local t = redis.call('TIME')
local k = KEYS[1] .. ':' .. math.floor(tonumber(t[1]) / 86400)
local n = tonumber(redis.call('GET', k)) or 0
if n >= tonumber(ARGV[1]) then return { n, 0 } end
n = redis.call('INCR', k)
redis.call('EXPIRE', k, 172800)
return { n, 1 }
]]

function M.new(opts)
  opts = opts or {}
  return setmetatable({ client = opts.client, host = opts.host or "127.0.0.1",
                        port = opts.port or 6379,
                        prefix = opts.prefix or "userupd:",
                        own = opts.client == nil }, Store)
end

-- Runs a script; on failure drops a connection we made (the next call
-- connects again) and returns nil, message.
function Store:eval(script, key, arg1, arg2)
  local ok, res = pcall(function()
    if not self.client then
      self.client = require("redis").connect(self.host, self.port)
    end
    if arg2 == nil then return self.client:eval(script, 1, key, arg1) end
    return self.client:eval(script, 1, key, arg1, arg2)
  end)
  if ok then return res end
  if self.own then self.client = nil end
  return nil, "redis: " .. tostring(res)
end

function Store:take(key, rate, burst)
  if not (rate > 0) then return 0 end   -- luacheck: ignore 581 (NaN)
  local res, err = self:eval(TAKE, self.prefix .. "tat:" .. key,
                             ("%.9g"):format(rate), ("%.9g"):format(burst))
  if not res then return nil, err end
  return tonumber(res) or 0
end

function Store:spend(key, quota)
  local res, err = self:eval(SPEND, self.prefix .. "day:" .. key,
                             ("%d"):format(quota))
  if not res then return nil, err end
  return tonumber(res[1]), res[2] == 1
end

return M
