-- examples/openresty/handler.lua: an HTTP front for userupd inside nginx.
--
--   PUT /users/<vendor>/<id>     body: a JSON object of fields
--
-- answers 200 with the vendor's user object (JSON), or an error
--
--   { "error": { "kind", "message", "field", "status", "vendor",
--                "vendor_code", "request_id", "retryable", "attempts" } }
--
-- with an HTTP status that fits the kind (see STATUS below).  Every answer
-- that reached the vendor also carries X-Userupd-Attempts,
-- X-Userupd-Vendor-Status and X-Userupd-Request-Id.
--
-- Clients are made once per worker, on first use, from the environment:
-- USERUPD_<VENDOR>_<OPTION> (USERUPD_QUESTIONPRO_API_KEY,
-- USERUPD_QUESTIONPRO_BASE_URL, USERUPD_FORMSONFIRE_COMPANY_ID, ...), the
-- same names as the `userupd` command line.  nginx hides the environment
-- from its workers: each variable must be declared with an `env` directive
-- in nginx.conf.  Options can also be set from init_by_lua through
-- M.configure{ questionpro = { ... } }; the environment wins.
--
-- The clients use nginx cosockets (userupd.transport.ngx) and ngx.sleep,
-- so a call that waits for a slow vendor parks only its own request: one
-- worker serves many updates at once.  Pacing (the vendor's rate budget)
-- is shared by every worker through the lua_shared_dict userupd_budget
-- when nginx.conf declares it; USERUPD_<VENDOR>_SHARED_BUDGET =
-- redis://host:port shares it between nginx servers through one Redis
-- (lua-resty-redis, on cosockets).

local userupd = require "userupd"
local ngxt = require "userupd.transport.ngx"

local M = {}

local clients = {}       -- vendor -> client (per worker)
local configured = {}    -- vendor -> options from M.configure

-- HTTP status per error kind.
local STATUS = {
  invalid = 400,         -- the caller's data; nothing was sent
  rejected = 422,        -- the vendor refused the data
  not_found = 404,       -- no such user at the vendor
  auth = 502,            -- our credentials: a gateway-side problem
  rate_limited = 503,    -- the vendor's budget is spent: come back later
  http = 502,            -- the vendor failed (5xx after the retries, ...)
  decode = 502,          -- the vendor answered something unreadable
  transport = 502,       -- refused, reset, TLS; timeouts get 504
  config = 503,          -- this gateway lacks the vendor's settings
}

local function env_name(vendor, option)
  return ("USERUPD_%s_%s"):format(vendor:upper(), option:upper())
end

-- An environment string as the option's type; nil, message (naming the
-- variable, never its value) when it does not fit.
local function convert(raw, spec, var)
  local kind = spec.type or "string"
  if kind == "integer" or kind == "number" then
    local n = tonumber(raw)
    if not n or (kind == "integer" and n ~= math.floor(n)) then
      return nil, var .. " must be a " ..
                  (kind == "integer" and "whole number" or "number")
    end
    return n
  elseif kind == "boolean" then
    local v = raw:lower()
    if v == "1" or v == "true" or v == "yes" or v == "on" then return true end
    if v == "0" or v == "false" or v == "no" or v == "off" then
      return false
    end
    return nil, var .. " must be true or false"
  end
  return raw
end

-- M.configure{ vendor = { option = value } } (e.g. from init_by_lua).
function M.configure(t)
  for vendor, opts in pairs(t) do configured[vendor] = opts end
  clients = {}
end

-- The budget the client paces against: redis://host[:port] in
-- shared_budget names a Redis shared with other nginx servers; without
-- one, the workers of this nginx share the lua_shared_dict userupd_budget
-- (when nginx.conf declares it).  Any other shared_budget is the client's
-- own (a file path).
local function shared_budget(opts)
  local sb = opts.shared_budget
  if type(sb) == "string" then
    local host, port = sb:match("^redis://([^:/]+):?(%d*)/?$")
    if host then
      opts.shared_budget = require("userupd.budget.redis").new{
        host = host, port = tonumber(port) or 6379 }
    end
  elseif sb == nil and ngx.shared.userupd_budget then
    opts.shared_budget = require("userupd.budget.ngx").new("userupd_budget")
  end
  return opts
end

local function options(vendor)
  local spec = userupd.vendors[vendor]
  local opts = {}
  for k, v in pairs(configured[vendor] or {}) do opts[k] = v end
  for name, option in pairs(spec.options) do
    local var = env_name(vendor, name)
    local raw = os.getenv(var)
    if raw and raw ~= "" then
      local v, why = convert(raw, option, var)
      if v == nil then return nil, why end
      opts[name] = v
    end
  end
  local missing = {}
  for name, option in pairs(spec.options) do
    if option.required and opts[name] == nil then
      missing[#missing + 1] = env_name(vendor, name)
    end
  end
  if #missing > 0 then
    table.sort(missing)
    return nil, ("%s is not configured: set %s (and declare it with nginx's " ..
                 "env directive)"):format(vendor, table.concat(missing, ", "))
  end
  return ngxt.options(shared_budget(opts))
end

-- The worker's client for vendor, made on first use.
local function client_for(vendor)
  local c = clients[vendor]
  if c then return c end
  local opts, why = options(vendor)
  if not opts then return nil, why end
  -- constructors raise on bad options, without quoting any secret
  local ok, made = pcall(userupd.new, vendor, opts)
  if not ok then
    return nil, ("cannot set up the %s client: %s"):format(vendor,
                                                          tostring(made))
  end
  clients[vendor] = made
  return made
end

---------------------------------------------------------------------------
-- Answers

local function send(status, value)
  local body, why = userupd.json_encode(value)
  if not body then
    status = 500
    body = userupd.json_encode{ error = { kind = "internal",
      message = "cannot encode the answer: " .. tostring(why) } }
  end
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print(body, "\n")
  return ngx.exit(status)
end

local function fail(status, kind, message, extra)
  local e = { kind = kind, message = message }
  for k, v in pairs(extra or {}) do e[k] = v end
  return send(status, { error = e })
end

local function note_info(info)
  if type(info) ~= "table" then return end
  if info.attempts then ngx.header["X-Userupd-Attempts"] = info.attempts end
  if info.status then ngx.header["X-Userupd-Vendor-Status"] = info.status end
  if info.request_id then
    ngx.header["X-Userupd-Request-Id"] = info.request_id
  end
end

local function error_status(err)
  if err.kind == "transport" and type(err.message) == "string" and
     (err.message:find("timeout", 1, true) or
      err.message:find("timed out", 1, true)) then
    return 504
  end
  return STATUS[err.kind] or 502
end

-- The request body, from memory or (if nginx spilled it) its temp file.
local function request_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  local path = ngx.req.get_body_file()
  if not path then return nil end
  local f = io.open(path, "rb")
  if not f then return nil end
  body = f:read("*a")
  f:close()
  return body
end

---------------------------------------------------------------------------
-- The handler (content_by_lua)

function M.handle()
  local vendor, id = ngx.var.uri:match("^/users/([%a]+)/([^/]+)/?$")
  if not vendor or type(userupd.vendors[vendor]) ~= "table" then
    return fail(404, "not_found", "no such route: use PUT /users/<vendor>/<id>")
  end
  if ngx.req.get_method() ~= "PUT" then
    ngx.header["Allow"] = "PUT"
    return fail(405, "method_not_allowed", "use PUT")
  end

  local client, why = client_for(vendor)
  if not client then
    ngx.log(ngx.ERR, why)
    return fail(STATUS.config, "config", why)
  end

  local body = request_body()
  if not body or not body:find("^%s*{") then
    return fail(400, "invalid", "the body must be a JSON object of fields",
                { field = "body" })
  end
  local fields, jerr = userupd.json_decode(body)
  if type(fields) ~= "table" then
    return fail(400, "invalid", "the body is not JSON: " .. tostring(jerr),
                { field = "body" })
  end

  -- pcall: a raise (a programmer error) must not leave a bare 500 page.
  -- LuaJIT lets the transport yield across it.
  local ok, user, err, info = pcall(client.update, client, id, fields)
  if not ok then
    ngx.log(ngx.ERR, "userupd update raised: ", tostring(user))
    return fail(500, "internal", "the update raised an error")
  end
  note_info(info)
  if user then return send(200, user) end
  return fail(error_status(err), err.kind, err.message, {
    field = err.field, status = err.status, vendor = err.vendor,
    vendor_code = err.vendor_code, request_id = err.request_id,
    retryable = err.retryable,
    attempts = type(info) == "table" and info.attempts or nil,
  })
end

return M
