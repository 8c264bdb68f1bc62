-- Admin API under /_sandbox/ (tests and the demo drive the sandbox with it).
--
--   GET    ping                      liveness + free space of the state dicts
--   POST   reset                     users, counters, faults, tokens, config
--   GET    config | POST config      {"bb_token_ttl","delay_ms","ti_limit","ti_window",
--                                     "ti_rate","ti_burst","ti_slack"}
--   GET    stats                     {"requests","by_vendor","by_status","puts","logins",
--                                     "connections","tls_full","tls_resumed","h2_requests",
--                                     "ti_bucket"}
--   GET    puts?vendor=V             {"<id>": successful PUTs}
--   GET    user/<vendor>/<id>        stored user (vendor's user object) or 404
--   GET    last?vendor=V             {"method","uri","headers","body"} or 404
--   POST   bb/expire                 expire every issued Blackbaud token
--   GET | POST | DELETE faults       list / add a rule / clear all rules
local json = require "sbx.json"
local util = require "sbx.util"
local state = require "sbx.state"
local faults = require "sbx.faults"
local engine = require "sbx.engine"

local M = {}

local function reply(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["X-Request-Id"] = util.request_uuid()
  ngx.print(type(body) == "string" and body or json.encode(body))
end

local function fail(status, msg) return reply(status, { error = msg }) end

-- Admin bodies are optional JSON objects.
local function body_object()
  ngx.req.read_body()
  local raw = ngx.req.get_body_data() or ""
  if raw:find("^%s*$") then return json.object() end
  local v, err = json.decode(raw)
  if not json.is_object(v) then return nil, err or "body must be a JSON object" end
  return v
end

local function vendor_arg()
  local v = ngx.var.arg_vendor
  if not state.IS_VENDOR[v] then
    return nil, "vendor must be one of: " .. table.concat(state.VENDORS, ", ")
  end
  return v
end

---------------------------------------------------------------------------
-- Config
---------------------------------------------------------------------------

-- key -> validity check for POST /_sandbox/config
local CONFIG_CHECKS = {
  bb_token_ttl = function(v) return type(v) == "number" and v > 0 end,
  delay_ms = function(v) return type(v) == "number" and v >= 0 and v <= 600000 end,
  ti_limit = function(v) return type(v) == "number" and v >= 0 and v == math.floor(v) end,
  ti_window = function(v) return type(v) == "number" and v > 0 and v <= 86400 end,
  ti_rate = function(v) return type(v) == "number" and v >= 0 and v <= 100000 end,
  ti_burst = function(v) return type(v) == "number" and v >= 1 and v <= 100000 end,
  ti_slack = function(v) return type(v) == "number" and v >= 0 and v <= 1 end,
}

local function post_config()
  local body, err = body_object()
  if not body then return fail(400, err) end
  for k, v in pairs(body) do
    local ok = CONFIG_CHECKS[k]
    if not ok then return fail(400, "unknown config key '" .. k .. "'") end
    if not ok(v) then return fail(400, "bad value for '" .. k .. "'") end
  end
  for k, v in pairs(body) do state.set_config(k, v) end
  return reply(200, state.config())
end

---------------------------------------------------------------------------
-- Stored users
---------------------------------------------------------------------------

-- Same storage keys as the vendor routes use.
local NORMALIZE = { thoughtindustries = string.lower, formsonfire = util.guid32 }

local function get_user(vendor, id)
  if not state.IS_VENDOR[vendor] then return fail(400, "unknown vendor '" .. vendor .. "'") end
  local key = (NORMALIZE[vendor] or tostring)(id)
  local delta = key and state.user_delta(vendor, key)
  if not delta then return fail(404, "no stored user " .. vendor .. "/" .. id) end
  local V = engine.vendors[vendor]
  local view = V.view(engine.full_user(V, key, delta), { admin = true })
  return reply(200, json.encode(view, V.rank))
end

---------------------------------------------------------------------------
-- Dispatch
---------------------------------------------------------------------------

-- Free KiB per shared dict: shows how close a big run is to the limits.
local function free_kb()
  local out = {}
  for _, name in ipairs({ "sbx_users", "sbx_state", "sbx_tokens" }) do
    out[name] = math.floor(ngx.shared[name]:free_space() / 1024)
  end
  return out
end

local ROUTES = {
  ["GET ping"] = function() return reply(200, { ok = true, pid = ngx.worker.pid(), free_kb = free_kb() }) end,
  ["POST reset"] = function() state.reset() return reply(200, { ok = true }) end,
  ["GET config"] = function() return reply(200, state.config()) end,
  ["POST config"] = post_config,
  ["GET stats"] = function() return reply(200, state.stats()) end,
  ["GET puts"] = function()
    local v, err = vendor_arg()
    if not v then return fail(400, err) end
    return reply(200, json.object(state.puts(v)))
  end,
  ["GET last"] = function()
    local v, err = vendor_arg()
    if not v then return fail(400, err) end
    local raw = state.last(v)
    if not raw then return fail(404, "no request recorded for " .. v) end
    return reply(200, raw)
  end,
  ["POST bb/expire"] = function() state.expire_all_tokens() return reply(200, { ok = true }) end,
  ["GET faults"] = function() return reply(200, faults.list()) end,
  ["DELETE faults"] = function() faults.clear() return reply(200, { ok = true }) end,
  ["POST faults"] = function()
    local body, err = body_object()
    if not body then return fail(400, err) end
    local rule, msg = faults.add_rule(body)
    if not rule then return fail(400, msg) end
    return reply(200, rule)
  end,
}

function M.handle()
  local method, path = ngx.req.get_method(), ngx.var.uri:match("^/_sandbox/(.-)/?$")
  local fn = ROUTES[method .. " " .. path]
  if fn then return fn() end
  local vendor, id = path:match("^user/([^/]+)/([^/]+)$")
  if vendor and method == "GET" then return get_user(vendor, id) end
  return fail(404, "no admin endpoint " .. method .. " /_sandbox/" .. path)
end

return M
