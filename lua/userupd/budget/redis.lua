-- userupd.budget.redis: a shared budget in Redis, so clients on several
-- machines pace one budget per vendor and credential.  Each take and
-- spend is one server-side script, atomic in Redis, and reads the time
-- from Redis itself, so the machines' clocks do not matter.  Scripts go
-- by their SHA-1 (EVALSHA); a Redis that does not know one yet (a restart,
-- SCRIPT FLUSH) answers NOSCRIPT, and the store loads it (SCRIPT LOAD)
-- and sends it again by SHA: the script text crosses the wire once.
--
--   local budget = require("userupd.budget.redis").new{
--     host = "10.0.0.5", port = 6379 }      -- or client = <connected client>
--   local c = userupd.thoughtindustries{ api_key = key, shared_budget = budget }
--
-- new{...}: host (127.0.0.1), port (6379), prefix ("userupd:"), timeout
-- (seconds, default 2: no call waits longer, nor longer than the client's
-- own timeout, which the core passes to every call), or client:
-- any connected object with evalsha(sha, numkeys, key..., arg...) and
-- script("load", text), such as lua-redis's (Debian's lua-redis, on
-- LuaSocket; under Lua 5.4 add /usr/share/lua/5.3/?.lua to LUA_PATH).
--
-- Inside nginx (OpenResty, or nginx with its Lua module) it speaks through
-- lua-resty-redis instead (`resty.redis`, or Debian's lua-nginx-redis as
-- `nginx.redis`), on cosockets: a call yields instead of blocking the
-- worker, and connections are kept in nginx's pool (keepalive seconds,
-- pool_size).  That is the default when the store is made inside nginx;
-- driver = "resty" or "luasocket" chooses.  Clients with a Lua transport
-- call take from their Lua call loop, so it may yield there: several
-- nginx servers share one budget through one Redis.
--
-- Keys: <prefix>tat:<key> (the bucket, expires once full again) and
-- <prefix>day:<key>:<day> (the quota count, two days).  <key> is a hash
-- of the vendor and the credential (src/loops/budget.c), never the secret.
-- The quota script builds its key from the day it reads, so it is not
-- declared up front: fine on one Redis, not on a Redis Cluster.

local M = {}
local Store = {}
Store.__index = Store

-- The SHA-1 of each script (spec/net/budget_redis_spec.lua checks them
-- against Redis' own SCRIPT LOAD); a stale one costs one SCRIPT LOAD.
local SHA = {
  take = "cf6fecb1211674982ec4fd06f1239b3934bf04f2",
  spend = "7f5cb740f0ad4483f1d165a5e89933325fc1e25a",
}
M.SHA = SHA

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

local SCRIPTS = { take = TAKE, spend = SPEND }
M.SCRIPTS = SCRIPTS

-- lua-resty-redis where cosockets work (inside nginx), lua-redis elsewhere.
local function default_driver()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and ngx.get_phase then return "resty" end
  return "luasocket"
end

local function resty_module()
  local ok, mod = pcall(require, "resty.redis")
  if ok then return mod end
  return require("nginx.redis")          -- Debian's lua-nginx-redis
end

function M.new(opts)
  opts = opts or {}
  local timeout = tonumber(opts.timeout or 2)
  if not (timeout and timeout > 0) then
    error("userupd.budget.redis: timeout must be a number of seconds " ..
          "above 0", 2)
  end
  local driver = opts.driver or (opts.client and "luasocket") or
                 default_driver()
  if driver ~= "resty" and driver ~= "luasocket" then
    error("userupd.budget.redis: driver must be \"resty\" or " ..
          "\"luasocket\"", 2)
  end
  if driver == "resty" and opts.client then
    error("userupd.budget.redis: with driver \"resty\" the store makes " ..
          "its own connections (give host and port, not client)", 2)
  end
  return setmetatable({ client = opts.client, host = opts.host or "127.0.0.1",
                        port = opts.port or 6379, timeout = timeout,
                        prefix = opts.prefix or "userupd:",
                        own = opts.client == nil, driver = driver,
                        keepalive = opts.keepalive or 60,
                        pool_size = opts.pool_size or 16 }, Store)
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

-- lua-redis raises where lua-resty-redis returns nil (or false), message.
local function is_noscript(err)
  return tostring(err):find("NOSCRIPT", 1, true) ~= nil
end

-- client:evalsha(sha, 1, key, arg1[, arg2]): no trailing nil goes out.
local function evalsha(client, sha, key, arg1, arg2)
  if arg2 == nil then return client:evalsha(sha, 1, key, arg1) end
  return client:evalsha(sha, 1, key, arg1, arg2)
end

-- One script by its SHA-1 on a lua-redis client (raises on failure).
local function luasocket_run(client, name, key, arg1, arg2)
  local ok, res = pcall(evalsha, client, SHA[name], key, arg1, arg2)
  if ok then return res end
  if not is_noscript(res) then error(res, 0) end
  SHA[name] = client:script("load", SCRIPTS[name])
  return evalsha(client, SHA[name], key, arg1, arg2)
end

-- The same on a lua-resty-redis connection: res, or nil, message.
local function resty_run(red, name, key, arg1, arg2)
  local res, err = evalsha(red, SHA[name], key, arg1, arg2)
  if res or not is_noscript(err) then return res or nil, err end
  local sha, lerr = red:script("load", SCRIPTS[name])
  if not sha then return nil, lerr end
  SHA[name] = sha
  res, err = evalsha(red, sha, key, arg1, arg2)
  return res or nil, err
end

-- A script through lua-resty-redis, on a connection from nginx's pool,
-- put back when the call went well.  res, or nil, message.
function Store:resty_eval(limit, name, key, arg1, arg2)
  local red = resty_module():new()
  red:set_timeout(math.floor(limit * 1000))
  local ok, err = red:connect(self.host, self.port)
  if not ok then return nil, "redis: connect: " .. tostring(err) end
  local res
  res, err = resty_run(red, name, key, arg1, arg2)
  if res == nil then
    red:close()
    if tostring(err) == "timeout" then
      err = ("no answer within %g s"):format(limit)
    end
    return nil, "redis: " .. tostring(err)
  end
  red:set_keepalive(math.floor(self.keepalive * 1000), self.pool_size)
  return res
end

-- Runs script name within limit seconds; on failure drops a connection we
-- made (the next call connects again; a late reply must never answer a
-- later call, so a given client's socket is closed too) and returns nil,
-- message.
function Store:eval(limit, name, key, arg1, arg2)
  if self.driver == "resty" then
    return self:resty_eval(limit, name, key, arg1, arg2)
  end
  local ok, res = pcall(function()
    if not self.client then
      self.client = require("redis").connect{ host = self.host,
        port = self.port, timeout = limit }
    end
    local sock = socket_of(self.client)
    if sock and sock.settimeout then sock:settimeout(limit, "t") end
    return luasocket_run(self.client, name, key, arg1, arg2)
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
  local res, err = self:eval(self:limit(timeout), "take",
                             self.prefix .. "tat:" .. key,
                             ("%.9g"):format(rate), ("%.9g"):format(burst))
  if not res then return nil, err end
  return tonumber(res) or 0
end

function Store:spend(key, quota, timeout)
  local res, err = self:eval(self:limit(timeout), "spend",
                             self.prefix .. "day:" .. key,
                             ("%d"):format(quota))
  if not res then return nil, err end
  return tonumber(res[1]), res[2] == 1
end

return M
