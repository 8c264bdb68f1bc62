-- Request pipeline shared by the five vendor emulations.
--
--   record last request -> global delay -> TI rate limit -> fault -> route
--   -> (update | get | vendor op) -> answer
--
-- Vendor modules (sbx/vendors/*.lua) supply the vendor-specific parts:
--   name, fields, rank (key order), codes[kind] = {status, code},
--   error_body(status, code, msg, ctx, err), route(ctx) -> route | nil, err,
--   auth(ctx, route) -> err?, missing(key), default_user(key),
--   view(user, route), render_update(view, ctx), render_get(view, ctx),
--   and optionally check, locate, initial, touch, extra_changes, ops, faults,
--   rate_limited, canned (body for drop-body).
-- Errors travel as {kind=..., msg=...} tables; the vendor maps `kind` to its
-- own status and error code.
local json = require "sbx.json"
local util = require "sbx.util"
local state = require "sbx.state"
local schema = require "sbx.schema"
local faults = require "sbx.faults"
local xml = require "sbx.xml"

local M = {}

local vendors = {}
for _, name in ipairs(state.VENDORS) do vendors[name] = require("sbx.vendors." .. name) end
M.vendors = vendors

local E = util.E

---------------------------------------------------------------------------
-- Request context
---------------------------------------------------------------------------

local Ctx = {}
Ctx.__index = Ctx

-- First value of a query argument ("" for a bare ?flag, nil if absent).
function Ctx:arg(name)
  local v = self.args[name]
  if type(v) == "table" then v = v[1] end
  if v == true then v = "" end
  return v
end

function Ctx:header(name)
  local v = self.headers[name]
  if type(v) == "table" then v = v[1] end
  return v
end

-- The body as a JSON object, checking Content-Type first (Forms On Fire
-- reads a body without it as XML, so no vendor may rely on sniffing).
function Ctx:json_body()
  if self.body then return self.body end
  local ct = self:header("content-type")
  local media_type = ct and ct:lower():match("^%s*([^;%s]+)")     -- drop "; charset=..."
  if media_type ~= "application/json" then
    return nil, E("bad_body", "Content-Type must be application/json (got " .. (ct or "none") .. ")")
  end
  local v, err = json.decode(self.body_raw)
  if v == nil then return nil, E("bad_body", "Body is not valid JSON: " .. err) end
  if not json.is_object(v) then return nil, E("bad_body", "Body must be a JSON object") end
  self.body = v
  return v
end

-- A client with send_null = true says so in this header; only then is a
-- JSON null accepted where no seed documents one (schema.lua).
function Ctx:sends_null()
  local v = self:header("x-userupd-send-null")
  return v ~= nil and v:lower() == "true"
end

local function read_body()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then return data end
  local file = ngx.req.get_body_file()      -- only if a body outgrew the buffer
  if not file then return "" end
  local f = io.open(file, "rb")
  if not f then return "" end
  data = f:read("*a")
  f:close()
  return data
end

local function new_ctx(V)
  ngx.update_time()
  local ctx = setmetatable({
    vendor = V, method = ngx.req.get_method(), uri = ngx.var.uri,
    request_uri = ngx.var.request_uri, args = ngx.req.get_uri_args(100),
    headers = ngx.req.get_headers(100), body_raw = read_body(),
    rid = util.request_uuid(), resp_headers = {}, now = ngx.now(),
  }, Ctx)
  ngx.header["X-Request-Id"] = ctx.rid
  return ctx
end

---------------------------------------------------------------------------
-- Answers
---------------------------------------------------------------------------

local function set_headers(ctx, extra)
  for k, v in pairs(ctx.resp_headers) do ngx.header[k] = v end
  for k, v in pairs(extra or {}) do ngx.header[k] = v end
end

-- Sends the first `n` bytes of a response announced as `text`, then drops
-- the connection (ngx.exit(444) closes it without finishing the body).
local function send_cut(text, n)
  ngx.print(text:sub(1, n))
  ngx.flush(true)
  return ngx.exit(444)
end

local function send(ctx, status, body, headers)
  local text = type(body) == "string" and body or json.encode(body, ctx.vendor.rank)
  local ctype = "application/json; charset=utf-8"
  if ctx.xml and type(body) == "table" then       -- Forms On Fire ?format=xml
    text, ctype = xml.encode(body), "application/xml; charset=utf-8"
  end
  ngx.status = status
  ngx.header["Content-Type"] = ctype
  set_headers(ctx, headers)
  ngx.header["Content-Length"] = #text
  if ctx.fault and ctx.fault.name == "truncated" then
    return send_cut(text, math.floor(#text / 2))
  end
  ngx.print(text)
end

local function send_error(ctx, e)
  local V = ctx.vendor
  local c = V.codes[e.kind] or V.codes["500"]
  local headers = {}
  if e.retry_after then headers["Retry-After"] = tostring(e.retry_after) end
  return send(ctx, c[1], V.error_body(c[1], c[2], e.msg, ctx, e), headers)
end
M.send, M.send_error = send, send_error

-- Errors that are the test's fault, not the client's: not in vendor shape.
local function send_sandbox_error(status, msg)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.print(json.encode({ sandbox_error = msg }))
end

---------------------------------------------------------------------------
-- Faults that answer before the vendor logic runs. Each returns true when
-- the request has been answered (or dropped).
---------------------------------------------------------------------------

local HTML = "<!DOCTYPE html><html><head><title>Service maintenance</title></head>"
  .. "<body><h1>We'll be back soon</h1><p>The service is down for maintenance.</p>"
  .. "</body></html>\n"

local function send_oversized(ctx, mb)
  local head, tail = '{"padding":"', '"}'
  local total = math.max(math.floor(mb * 1048576), #head + #tail)
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json; charset=utf-8"
  set_headers(ctx)
  ngx.header["Content-Length"] = total
  ngx.print(head)
  local chunk, left = string.rep("x", 65536), total - #head - #tail
  while left > 0 do                       -- bounded: `left` shrinks every pass
    local n = math.min(left, #chunk)
    ngx.print(n == #chunk and chunk or chunk:sub(1, n))
    if not ngx.flush(true) then return true end   -- client gave up
    left = left - n
  end
  ngx.print(tail)
  return true
end

local PRE = {}
local function status_fault(kind, msg, retry)
  return function(ctx, f)
    local extra = retry and { retry_after = f.params.retry_after } or nil
    send_error(ctx, E(kind, msg, extra))
    return true
  end
end
PRE["429"] = status_fault("429", "Too many requests (injected)", true)
PRE["429-noretry"] = status_fault("429", "Too many requests (injected, no Retry-After)", false)
PRE["500"] = status_fault("500", "Internal server error (injected)")
PRE["502"] = status_fault("502", "Bad gateway (injected)")
PRE["503"] = status_fault("503", "Service unavailable (injected)", true)
PRE["504"] = status_fault("504", "Gateway timeout (injected)")
PRE["408"] = status_fault("408", "Request timeout (injected)")

-- error-200: every vendor's error envelope for the given status, sent
-- with HTTP 200 (QuestionPro's httpStatusCode and SmarterMeasure's Status
-- say the status; the other shapes have no place for it).
local STATUS_KIND = { [400] = "invalid", [401] = "unauthorized",
                      [403] = "forbidden", [404] = "not_found" }
-- form: 0 the vendor's shape; 1 the error object as a bare string; 2 an
-- empty object; 3 only the status (where the shape has a place for it).
local ERR_AT = { questionpro = { "response", "error" },
                 smartermeasure = { "RestException" },
                 formsonfire = { "ResponseStatus" },
                 blackbaud = { "Error" }, thoughtindustries = { "error" } }
local ERR_STATUS = { questionpro = "httpStatusCode", smartermeasure = "Status" }

local function reshape(body, vendor, form, st, msg)
  local path = ERR_AT[vendor]
  local parent = body
  for i = 1, #path - 1 do parent = parent[path[i]] end
  local last = path[#path]
  if #path == 1 and (vendor == "blackbaud" or vendor == "thoughtindustries") then
    body = {}                                    -- the keys sit at the root
    parent = body
  end
  if form == 1 then
    parent[last] = msg
  elseif form == 2 then
    parent[last] = json.object({})
  else
    parent[last] = ERR_STATUS[vendor] and { [ERR_STATUS[vendor]] = st }
                   or (json.object({}))
  end
  return body
end

PRE["error-200"] = function(ctx, f)
  local st = f.params.status
  local kind = STATUS_KIND[st] or tostring(st)
  if not ctx.vendor.codes[kind] then kind = "500" end
  local e = E(kind, ("Injected error %d inside a 200"):format(st))
  local body = ctx.vendor.error_body(st, ctx.vendor.codes[kind][2], e.msg,
                                     ctx, e)
  if f.params.form > 0 then
    body = reshape(body, ctx.vendor.name, f.params.form, st, e.msg)
  end
  send(ctx, 200, body)
  return true
end

-- echo-field:name=F: a 400 whose message quotes the value the request
-- body gave F, without its key ("password X is too weak"), as does
-- X-Request-Id: a vendor echoing a record's own secret.
PRE["echo-field"] = function(ctx, f)
  local body = ctx:json_body()
  local v = type(body) == "table" and body[f.params.name] or nil
  if type(v) ~= "string" then return false end
  ctx.resp_headers["X-Request-Id"] = "req-" .. v:gsub("[%c]", " ")
  send_error(ctx, E("invalid", ("%s %s is too weak (and %s again)")
                              :format(f.params.name, v, v)))
  return true
end

PRE.drop = function() return ngx.exit(444) end

PRE["drop-body"] = function(ctx)
  local text = ctx.vendor.canned
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json; charset=utf-8"
  set_headers(ctx)
  ngx.header["Content-Length"] = #text
  send_cut(text, 16)
  return true
end

PRE.nonjson = function(ctx)
  ngx.status = 200
  ngx.header["Content-Type"] = "text/html; charset=utf-8"
  set_headers(ctx)
  ngx.header["Content-Length"] = #HTML
  ngx.print(HTML)
  return true
end

PRE.oversized = function(ctx, f) return send_oversized(ctx, f.params.mb) end
PRE.stall = function(_, f) ngx.sleep(f.params.secs) end
PRE.delay = function(_, f) ngx.sleep(f.params.ms / 1000) end

-- echo: a hostile server for the secrets audit.  The whole request
-- (request line, every header, the body), twice, after step more dots on
-- each echo (up to 600) so that every part of it crosses every cut the
-- client makes, goes into every string of the vendor's error shape (code
-- and message included), into requestID and into X-Request-Id.
local function reflection(ctx, step)
  local names, lines = {}, { ctx.method .. " " .. ctx.request_uri }
  for k in pairs(ctx.headers) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    local v = ctx.headers[k]
    if type(v) == "table" then v = table.concat(v, ", ") end
    lines[#lines + 1] = k .. ": " .. tostring(v)
  end
  lines[#lines + 1] = ctx.body_raw
  local all = table.concat(lines, "\n")
  local pad = step > 0 and (state.dict:incr("echo_seq", 1, 0) * step) % 601 or 0
  return ("."):rep(pad) .. all .. " || " .. all
end

local function fill_strings(t, text)
  for k, v in pairs(t) do
    if type(v) == "string" then t[k] = text
    elseif type(v) == "table" and v ~= json.null then fill_strings(v, text) end
  end
end

PRE.echo = function(ctx, f)
  local text = reflection(ctx, f.params.step)
  local body = ctx.vendor.error_body(f.params.status, text, text, ctx,
                                     E("invalid", text))
  fill_strings(body, text)
  body.requestID = text
  ctx.resp_headers["X-Request-Id"] = text:gsub("[%c]", " ")
  send(ctx, f.params.status, body)
  return true
end

-- bb-token: a Blackbaud login answered with the given token (one with +,
-- / and =, say, as a real session token may have).
PRE["bb-token"] = function(ctx, f)
  if not ctx.uri:find("^/api/authentication/") then return false end
  send(ctx, 200, { Token = f.params.token, UserId = 100001 })
  return true
end

local function apply_fault(ctx, f)
  local fn = PRE[f.name]
  if fn then return fn(ctx, f) end
  local vf = ctx.vendor.faults and ctx.vendor.faults[f.name]
  if vf then
    local e = vf(ctx, f)
    if e then send_error(ctx, e) return true end
  end
  return false            -- truncated / ignore-field act later; others no-op
end

---------------------------------------------------------------------------
-- Thought Industries rate-limit emulation (fixed windows of ti_window s).
---------------------------------------------------------------------------

local function rate_limit(ctx, cfg)
  local limit, window = cfg.ti_limit, cfg.ti_window
  if not ctx.vendor.rate_limited or limit <= 0 then return nil end
  local idx = math.floor(ctx.now / window)
  local n = state.dict:incr("tirl:" .. idx, 1, 0, window * 2 + 1)
  local reset = (idx + 1) * window
  local h = ctx.resp_headers
  h["X-RateLimit-Limit"] = tostring(limit)
  h["X-RateLimit-Remaining"] = tostring(math.max(0, limit - n))
  h["X-RateLimit-Reset"] = tostring(math.ceil(reset))
  h["X-RateLimit-Reset-After"] = string.format("%.3f", math.max(0, reset - ctx.now))
  if n <= limit then return nil end
  local wait = math.max(1, math.ceil(reset - ctx.now))
  return E("429", ("Rate limit of %d requests per %s s exceeded"):format(limit, window),
           { retry_after = wait })
end

-- Thought Industries as a token bucket (config ti_rate > 0): ti_rate
-- requests a second, ti_burst at once, enforced exactly: a request is let
-- through only when a whole token is there (ti_slack seconds early are
-- forgiven, 0 by default).  One worker, so get + set cannot race.
-- Success answers carry no X-RateLimit-* headers; a refusal is a 429 with
-- Retry-After.  Counts (stats.ti_bucket): ok, limited, first, last.
local function bucket_limit(ctx, cfg)
  local rate = cfg.ti_rate
  if not ctx.vendor.rate_limited or rate <= 0 then return nil end
  ngx.update_time()
  local now, t, d = ngx.now(), 1 / rate, state.dict
  local tat = d:get("tib:tat") or 0
  if tat + t > now + cfg.ti_slack then
    d:incr("tib:limited", 1, 0)
    return E("429", ("Rate limit of %s requests per second exceeded"):format(rate),
             { retry_after = math.max(1, math.ceil(tat + t - now)) })
  end
  d:set("tib:tat", math.max(tat + t, now - (cfg.ti_burst - 1) * t))
  d:incr("tib:ok", 1, 0)
  if not d:get("tib:first") then d:set("tib:first", now) end
  d:set("tib:last", now)
  return nil
end

---------------------------------------------------------------------------
-- Users
---------------------------------------------------------------------------

local function load_delta(ctx, route)
  local V = ctx.vendor
  local delta = state.user_delta(V.name, route.key)
  if delta then return delta, false end
  return (V.initial and V.initial(ctx, route)) or {}, true
end

-- Full stored user (vendor field names) = default user + stored changes.
local function full_user(V, key, delta)
  local u = V.default_user(key)
  for k, v in pairs(delta) do u[k] = v end
  return u
end
M.full_user = full_user

-- Request fields -> stored names (fields with store=false are not kept).
local function collect_changes(V, body)
  local changes = {}
  for name, value in pairs(body) do
    local spec = V.fields[name]
    if spec.store ~= false then changes[spec.store or name] = value end
  end
  if V.extra_changes then V.extra_changes(changes, body) end
  return changes
end

local function merged(a, b, c)
  local out = util.copy(a)
  for k, v in pairs(b) do out[k] = v end
  for k, v in pairs(c or {}) do out[k] = v end
  return out
end

-- ignore-field:name=X -> the answer shows X changed, the store does not.
local function without_ignored(V, changes, f)
  local stored = util.copy(changes)
  if f and f.name == "ignore-field" then
    local x = f.params.name
    local spec = V.fields[x]
    stored[x] = nil
    if spec and spec.store then stored[spec.store] = nil end
  end
  return stored
end

---------------------------------------------------------------------------
-- Generic operations
---------------------------------------------------------------------------

local OPS = {}

function OPS.update(ctx, route)
  local V = ctx.vendor
  local err = V.auth(ctx, route)
  if err then return send_error(ctx, err) end
  local body
  body, err = ctx:json_body()
  if err then return send_error(ctx, err) end
  local msg = schema.validate(body, V.fields, ctx:sends_null())
  if msg then return send_error(ctx, E("invalid", msg)) end
  err = (V.check and V.check(ctx, body, route)) or (V.locate and V.locate(ctx, body, route))
  if err then return send_error(ctx, err) end
  if V.missing(route.key) then return send_error(ctx, E("not_found", "User " .. route.id .. " not found")) end
  local delta = load_delta(ctx, route)
  local changes = merged(collect_changes(V, body), V.touch and V.touch(ctx.now) or {})
  local saved, serr = state.save_user_delta(V.name, route.key,
                                           merged(delta, without_ignored(V, changes, ctx.fault)))
  if not saved then return send_sandbox_error(507, "sandbox cannot store the user: " .. tostring(serr)) end
  state.count_put(V.name, route.key)
  local view = V.view(full_user(V, route.key, merged(delta, changes)), route)
  return send(ctx, 200, V.render_update(view, ctx))
end

function OPS.get(ctx, route)
  local V = ctx.vendor
  local err = V.auth(ctx, route)
  if err then return send_error(ctx, err) end
  if V.missing(route.key) then return send_error(ctx, E("not_found", "User " .. route.id .. " not found")) end
  local delta, created = load_delta(ctx, route)
  if created then state.save_user_delta(V.name, route.key, delta) end
  return send(ctx, 200, V.render_get(V.view(full_user(V, route.key, delta), route), ctx))
end

---------------------------------------------------------------------------
-- Entry points (nginx.conf.in)
---------------------------------------------------------------------------

local function record_last(ctx)
  state.save_last(ctx.vendor.name, {
    method = ctx.method, uri = ctx.request_uri, headers = ctx.headers, body = ctx.body_raw,
  })
end

-- content_by_lua for every vendor location.
function M.handle(vendor_name)
  local V = vendors[vendor_name]
  local ctx = new_ctx(V)
  record_last(ctx)
  local cfg = state.config()
  if cfg.delay_ms > 0 then ngx.sleep(cfg.delay_ms / 1000) end
  local limited = rate_limit(ctx, cfg) or bucket_limit(ctx, cfg)
  if limited then return send_error(ctx, limited) end
  local f, ferr = faults.for_request(ctx)
  if ferr then return send_sandbox_error(400, ferr) end
  ctx.fault = f
  if f and apply_fault(ctx, f) then return end
  local route, err = V.route(ctx)
  if not route then return send_error(ctx, err) end
  local custom = V.ops and V.ops[route.op]
  if not custom then return OPS[route.op](ctx, route) end
  local status, body = custom(ctx, route)      -- vendor op: status, body | nil, err
  if status then return send(ctx, status, body) end
  return send_error(ctx, body)
end

-- log_by_lua for every vendor location: request counters.
function M.log(vendor_name)
  state.log_request(vendor_name)
end

return M
