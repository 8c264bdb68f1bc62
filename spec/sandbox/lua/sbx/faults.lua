-- Fault selection: which (if any) fault applies to the current request.
--
-- Two sources:
--   * the request header  X-Sandbox-Fault: <name>[:k=v[,k=v...]]
--   * admin rules (POST /_sandbox/faults) for bulk runs:
--       {"fault":"<spec>","count":N,"every":K,"path":"<substring>",
--        "vendor":"<name>","method":"PUT"}
--     count: fire on the next N matching requests; every: fire on every K-th
--     matching request; both: every K-th, at most N times; neither: always.
--     Rules are tried in the order they were added; the first that fires wins.
-- The header wins over rules. What each fault does is in engine.lua.
local json = require "sbx.json"
local state = require "sbx.state"

local M = {}

-- Known faults and their parameters: param -> {default, min, max}.
M.KNOWN = {
  ["429"]          = { retry_after = { 1, 0, 3600 } },
  ["429-noretry"]  = {},
  ["500"] = {}, ["502"] = {}, ["504"] = {}, ["408"] = {},
  ["503"]          = { retry_after = { 1, 0, 3600 } },
  drop = {}, ["drop-body"] = {}, truncated = {}, nonjson = {},
  stall            = { secs = { 5, 0, 300 } },
  delay            = { ms = { 0, 0, 600000 } },
  oversized        = { mb = { 10, 0, 256 } },
  ["ff-error-200"] = {}, ["bb-expired"] = {},
  ["error-200"]    = { status = { 400, 200, 599 }, form = { 0, 0, 3 } },
  ["echo-field"]   = { name = "string" },
  ["ignore-field"] = { name = "string" },
  echo             = { status = { 400, 200, 599 }, step = { 0, 0, 4096 } },
  ["bb-token"]     = { token = "string" },
}

-- "stall:secs=2" -> {name="stall", params={secs=2}} | nil, message
function M.parse(spec)
  if type(spec) ~= "string" then return nil, "fault must be a string" end
  local name, rest = spec:match("^%s*([%w%-]+)%s*:?(.-)%s*$")
  local known = name and M.KNOWN[name]
  if not known then return nil, "unknown fault '" .. spec .. "'" end
  local params = {}
  for pair in rest:gmatch("[^,;]+") do
    local k, v = pair:match("^%s*([%w_]+)%s*=%s*(.-)%s*$")
    local def = k and known[k]
    if not def then return nil, ("bad parameter '%s' for fault %s"):format(pair, name) end
    if def == "string" then
      params[k] = v
    else
      local n = tonumber(v)
      if not n or n < def[2] or n > def[3] then
        return nil, ("parameter %s=%s out of range [%s, %s]"):format(k, v, def[2], def[3])
      end
      params[k] = n
    end
  end
  for k, def in pairs(known) do
    if def == "string" and not params[k] then return nil, name .. " needs " .. k .. "=..." end
    if params[k] == nil and def ~= "string" then params[k] = def[1] end
  end
  return { name = name, params = params, spec = spec }
end

---------------------------------------------------------------------------
-- Admin rules, kept in sbx_state as JSON. Each worker caches the decoded
-- list and reloads it when the stamp (a never-reused id) changes.
---------------------------------------------------------------------------

local dict = state.dict
local cache = { stamp = false, rules = {} }

local function load_rules()
  local stamp = dict:get("faults:stamp")
  if stamp ~= cache.stamp then
    local raw = dict:get("faults:rules")
    cache.rules = raw and json.decode(raw) or {}
    cache.stamp = stamp
  end
  return cache.rules
end

local function save_rules(rules)
  dict:set("faults:rules", json.encode(json.array(rules)))
  dict:set("faults:stamp", ngx.var.request_id)
end

local function positive_int(v)
  return v == nil or (type(v) == "number" and v >= 1 and math.floor(v) == v)
end

-- Validates and appends a rule; returns the stored rule or nil, message.
function M.add_rule(t)
  if not json.is_object(t) then return nil, "body must be a JSON object" end
  for k in pairs(t) do
    if not ({ fault = 1, count = 1, every = 1, path = 1, vendor = 1, method = 1 })[k] then
      return nil, "unknown key '" .. k .. "'"
    end
  end
  local f, err = M.parse(t.fault)
  if not f then return nil, err end
  if not positive_int(t.count) or not positive_int(t.every) then
    return nil, "count and every must be positive integers"
  end
  if t.vendor ~= nil and not state.IS_VENDOR[t.vendor] then return nil, "unknown vendor" end
  local rules = load_rules()
  local copy = {}
  for i, r in ipairs(rules) do copy[i] = r end
  local rule = { id = dict:incr("faults:next_id", 1, 0), fault = t.fault, count = t.count,
                 every = t.every, path = t.path, vendor = t.vendor, method = t.method }
  copy[#copy + 1] = rule
  save_rules(copy)
  return rule
end

function M.clear()
  save_rules({})
end

-- Rules with their live counters, for GET /_sandbox/faults.
function M.list()
  local out = json.array()
  for i, r in ipairs(load_rules()) do
    local c = {}
    for k, v in pairs(r) do c[k] = v end
    c.seen = dict:get("faults:seen:" .. r.id) or 0
    c.fired = dict:get("faults:fired:" .. r.id) or 0
    out[i] = c
  end
  return out
end

local function rule_matches(r, ctx)
  if r.vendor and r.vendor ~= ctx.vendor.name then return false end
  if r.method and r.method ~= ctx.method then return false end
  if r.path and not ctx.request_uri:find(r.path, 1, true) then return false end
  return true
end

-- Counts the request against the rule and says whether the rule fires.
local function rule_fires(r)
  if r.count and (dict:get("faults:fired:" .. r.id) or 0) >= r.count then return false end
  local seen = dict:incr("faults:seen:" .. r.id, 1, 0)
  if r.every and seen % r.every ~= 0 then return false end
  dict:incr("faults:fired:" .. r.id, 1, 0)
  return true
end

-- for_request(ctx) -> fault | nil  (or nil, message for a bad header)
function M.for_request(ctx)
  local h = ctx.headers["x-sandbox-fault"]
  if type(h) == "table" then h = h[1] end
  if h then return M.parse(h) end
  for _, r in ipairs(load_rules()) do
    if rule_matches(r, ctx) and rule_fires(r) then return (M.parse(r.fault)) end
  end
  return nil
end

return M
