-- All sandbox state lives in nginx shared dicts (declared in nginx.conf.in),
-- so it survives between requests and is reset in one place.
--
--   sbx_users   "<vendor>|<id>" -> JSON of the fields changed since creation
--               (the default user is recomputed from the id, which keeps
--               200,000 users small)
--   sbx_puts_<vendor>  "<id>" -> successful PUT count (one dict per vendor so
--               GET /_sandbox/puts never scans other vendors' ids)
--   sbx_stats   request counters
--   sbx_tokens  issued Blackbaud tokens, with the idle TTL as dict expiry
--   sbx_state   config, fault rules, last request per vendor, rate windows
local json = require "sbx.json"

local M = {}

M.VENDORS = { "smartermeasure", "thoughtindustries", "blackbaud", "formsonfire", "questionpro" }
M.IS_VENDOR = {}
for _, v in ipairs(M.VENDORS) do M.IS_VENDOR[v] = true end

local shared = ngx.shared
local users, stats, tokens, st = shared.sbx_users, shared.sbx_stats, shared.sbx_tokens, shared.sbx_state

local function puts_dict(vendor) return shared["sbx_puts_" .. vendor] end

---------------------------------------------------------------------------
-- Users (stored as a delta over the vendor's default user)
---------------------------------------------------------------------------

function M.user_delta(vendor, key)
  local raw = users:get(vendor .. "|" .. key)
  if not raw then return nil end
  return (json.decode(raw))
end

function M.save_user_delta(vendor, key, delta)
  -- safe_set: never silently evict another user to make room.
  local ok, err = users:safe_set(vendor .. "|" .. key, json.encode(delta))
  if not ok then ngx.log(ngx.ERR, "sandbox: cannot store user: ", err) end
  return ok, err
end

function M.count_put(vendor, key)
  stats:incr("puts", 1, 0)
  return puts_dict(vendor):incr(key, 1, 0)
end

-- id -> number of successful PUTs for one vendor.
function M.puts(vendor)
  local dict, out = puts_dict(vendor), {}
  for _, key in ipairs(dict:get_keys(0)) do out[key] = dict:get(key) end
  return out
end

---------------------------------------------------------------------------
-- Config (admin POST /_sandbox/config)
---------------------------------------------------------------------------

M.CONFIG_DEFAULTS = { bb_token_ttl = 1200, delay_ms = 0, ti_limit = 0, ti_window = 60,
                      ti_rate = 0, ti_burst = 1, ti_slack = 0 }

function M.config()
  local c = {}
  for k, default in pairs(M.CONFIG_DEFAULTS) do c[k] = st:get("cfg:" .. k) or default end
  return c
end

function M.set_config(key, value) st:set("cfg:" .. key, value) end

---------------------------------------------------------------------------
-- Counters (admin GET /_sandbox/stats)
---------------------------------------------------------------------------

function M.incr(key) stats:incr(key, 1, 0) end

-- Called from log_by_lua for every vendor request, whatever the outcome.
function M.log_request(vendor)
  require("sbx.conns").note()
  M.incr("requests")
  M.incr("vendor:" .. vendor)
  M.incr("status:" .. tostring(ngx.status))
end

function M.stats()
  local by_vendor, by_status = json.object(), json.object()
  for _, key in ipairs(stats:get_keys(0)) do
    local kind, name = key:match("^(%a+):(.+)$")
    if kind == "vendor" then by_vendor[name] = stats:get(key)
    elseif kind == "status" then by_status[name] = stats:get(key) end
  end
  local conns = require("sbx.conns").counts()
  return {
    requests = stats:get("requests") or 0,
    by_vendor = by_vendor, by_status = by_status,
    puts = stats:get("puts") or 0, logins = stats:get("logins") or 0,
    connections = conns.connections, tls_full = conns.tls_full,
    tls_resumed = conns.tls_resumed, h2_requests = conns.h2_requests,
    ti_bucket = { ok = st:get("tib:ok") or 0, limited = st:get("tib:limited") or 0,
                  first = st:get("tib:first") or 0, last = st:get("tib:last") or 0 },
  }
end

---------------------------------------------------------------------------
-- Last request per vendor (admin GET /_sandbox/last)
---------------------------------------------------------------------------

function M.save_last(vendor, record)
  local ok, err = st:safe_set("last:" .. vendor, json.encode(record))
  if not ok then ngx.log(ngx.ERR, "sandbox: cannot store last request: ", err) end
end

function M.last(vendor) return st:get("last:" .. vendor) end

---------------------------------------------------------------------------
-- Blackbaud tokens
---------------------------------------------------------------------------

-- Issues "tok-<counter>-<random>", valid for `ttl` seconds of idleness.
function M.issue_token(ttl)
  local n = st:incr("bb:token_seq", 1, 0)
  local token = string.format("tok-%d-%s", n, ngx.var.request_id:sub(1, 16))
  tokens:set(token, true, ttl)
  return token
end

-- True if the issued token is alive; each use restarts the idle clock.
function M.touch_token(token, ttl)
  if not tokens:get(token) then return false end
  tokens:expire(token, ttl)
  return true
end

-- Static tokens (not issued here) are valid until expired through a fault.
function M.static_token_revoked(token) return st:get("bbrevoked:" .. token) ~= nil end

function M.expire_token(token)
  if tokens:get(token) then tokens:delete(token) else st:set("bbrevoked:" .. token, true) end
end

function M.expire_all_tokens()
  tokens:flush_all()
  tokens:flush_expired(0)
end

---------------------------------------------------------------------------
-- Raw access for modules that keep their own keys in sbx_state
---------------------------------------------------------------------------

M.dict = st

-- POST /_sandbox/reset: everything back to a fresh start.
function M.reset()
  local dicts = { users, stats, tokens, st }
  for _, v in ipairs(M.VENDORS) do dicts[#dicts + 1] = puts_dict(v) end
  for _, d in ipairs(dicts) do
    d:flush_all()
    d:flush_expired(0)          -- actually free the memory
  end
end

return M
