-- userupd.budget.redis: a shared budget in Redis, so clients on several
-- machines pace one budget per vendor and credential.  Each take and
-- spend is one server-side script (EVAL), atomic in Redis, and reads the
-- time from Redis itself, so the machines' clocks do not matter.
--
--   local budget = require("userupd.budget.redis").new{
--     host = "10.0.0.5", port = 6379 }      -- or client = <connected client>
--   local c = userupd.thoughtindustries{ api_key = key, shared_budget = budget }
--
-- new{...}: host (127.0.0.1), port (6379), prefix ("userupd:"), timeout
-- (seconds, default 2: no call waits longer, nor longer than the client's
-- own timeout, which the core passes to every call), or client:
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
if tat < least or tat - now > (math.max(burst, 1) + 256) / rate + 60 then
  tat = least  -- full, or further ahead than any budget reserves (skew)
end
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
  local timeout = tonumber(opts.timeout or 2)
  if not (timeout and timeout > 0) then
    error("userupd.budget.redis: timeout must be a number of seconds " ..
          "above 0", 2)
  end
  return setmetatable({ client = opts.client, host = opts.host or "127.0.0.1",
                        port = opts.port or 6379, timeout = timeout,
                        prefix = opts.prefix or "userupd:",
                        own = opts.client == nil }, Store)
end

-- Names the store in the core's messages.
function Store:__tostring()
  if not self.own then return "userupd.budget.redis (a given client)" end
  return ("userupd.budget.redis %s:%s"):format(self.host, self.port)
end

-- The socket under a lua-redis client, when it shows one.
local function socket_of(client)
  local net = type(client) == "table" and rawget(client, "network")
  return type(net) == "table" and net.socket or nil
end

-- Runs a script within limit seconds; on failure drops a connection we
-- made (the next call connects again; a late reply must never answer a
-- later call, so a given client's socket is closed too) and returns nil,
-- message.
function Store:eval(limit, script, key, arg1, arg2)
  local ok, res = pcall(function()
    if not self.client then
      self.client = require("redis").connect{ host = self.host,
        port = self.port, timeout = limit }
    end
    local sock = socket_of(self.client)
    if sock and sock.settimeout then sock:settimeout(limit, "t") end
    if arg2 == nil then return self.client:eval(script, 1, key, arg1) end
    return self.client:eval(script, 1, key, arg1, arg2)
  end)
  if ok then return res end
  local sock = socket_of(self.client)
  if sock and sock.close then pcall(sock.close, sock) end
  if self.own then self.client = nil end
  res = tostring(res)
  if res:find("timeout", 1, true) then
    res = ("no answer within %g s"):format(limit)
  end
  return nil, "redis: " .. res
end

-- The deadline of one call: ours, and the client's (the core's last
-- argument), whichever is shorter.
function Store:limit(timeout)
  timeout = tonumber(timeout)
  if timeout and timeout > 0 and timeout < self.timeout then
    return timeout
  end
  return self.timeout
end

function Store:take(key, rate, burst, timeout)
  if not (rate > 0) then return 0 end   -- luacheck: ignore 581 (NaN)
  local res, err = self:eval(self:limit(timeout), TAKE,
                             self.prefix .. "tat:" .. key,
                             ("%.9g"):format(rate), ("%.9g"):format(burst))
  if not res then return nil, err end
  return tonumber(res) or 0
end

function Store:spend(key, quota, timeout)
  local res, err = self:eval(self:limit(timeout), SPEND,
                             self.prefix .. "day:" .. key,
                             ("%d"):format(quota))
  if not res then return nil, err end
  return tonumber(res[1]), res[2] == 1
end

return M
