-- Blackbaud ON API (legacy): token from /api/authentication/login, then
-- PUT/GET /api/user/{id}?t={token}&format=json.
-- Seed: seeds/002 (fields, FieldsToNull); login shapes and the 20-minute idle
-- token expiry: vendors.md section 3.
-- A token is valid if this sandbox issued it and it has not expired, or if
-- it does not start with "bad"/"tok-" (so tests can use a static token).
local json = require "sbx.json"
local util = require "sbx.util"
local state = require "sbx.state"
local schema = require "sbx.schema"

local E = util.E
local V = { name = "blackbaud" }

local BASE = { "FirstName", "LastName", "Email", "HostId", "Greeting", "MaidenName", "NickName",
               "Prefix", "Suffix", "MiddleName", "OtherLastName", "Affiliation", "Gender", "BirthDate" }
local CUSTOM = {}
for i = 1, 10 do CUSTOM[i] = "CustomField" .. i end

-- Fields a client may set, and therefore clear through FieldsToNull.
local CLEARABLE = {}
for _, list in ipairs({ BASE, CUSTOM }) do
  for _, name in ipairs(list) do CLEARABLE[name] = true end
end

V.fields = {
  FieldsToNull = { type = "field_names", names = CLEARABLE, store = false },
  UserID = { type = "integer", store = false },     -- the path id wins (seed)
}
for name in pairs(CLEARABLE) do V.fields[name] = { type = "string" } end
V.fields.BirthDate = { type = "date" }

-- The seed's other extended properties, with its types. It lists them as
-- returned by /user/extended/{id} and never says PUT takes them; the client
-- sends them only as `extra` members. The sandbox accepts them (our
-- choice), so a migration that needs them can be rehearsed here.
local EXTENDED = {
  EthnicityType = "integer", Citizenship = "string", PersonalWebsite = "integer",
  BoardingOrDay = "integer", IsDeceased = "boolean", DeceasedDate = "date",
  LivingStatus = "string", IsAbroad = "boolean", ScreenName = "string",
  IMService = "string", IsLost = "boolean",
}
for name, t in pairs(EXTENDED) do V.fields[name] = { type = t } end

local ORDER = { "UserID" }
for _, list in ipairs({ BASE, CUSTOM, { "Token", "UserId", "Error", "ErrorType" } }) do
  for _, name in ipairs(list) do ORDER[#ORDER + 1] = name end
end
V.rank = json.rank_of(ORDER)

V.codes = {
  bad_url = { 400, "VALIDATION" }, bad_body = { 400, "VALIDATION" }, invalid = { 400, "VALIDATION" },
  unauthorized = { 401, "UNAUTHORIZED_ACCESS" }, forbidden = { 403, "FORBIDDEN" },
  not_found = { 404, "NOT_FOUND" }, no_route = { 404, "NOT_FOUND" },
  method = { 405, "METHOD_NOT_ALLOWED" },
  ["408"] = { 408, "REQUEST_TIMEOUT" }, ["429"] = { 429, "TOO_MANY_REQUESTS" },
  ["500"] = { 500, "SERVER_ERROR" }, ["502"] = { 502, "BAD_GATEWAY" },
  ["503"] = { 503, "SERVICE_UNAVAILABLE" }, ["504"] = { 504, "GATEWAY_TIMEOUT" },
}

function V.error_body(_, code, msg) return { Error = msg, ErrorType = code } end

V.canned = '{"UserID":1574489,"FirstName":"Madison","LastName":"Abelle","Email":"m@example.com"}'

---------------------------------------------------------------------------
-- Routing
---------------------------------------------------------------------------

local function needs_json_format(ctx)
  local f = ctx:arg("format")
  if not f or f:lower() ~= "json" then
    return E("bad_url", "Query parameter format=json is required (got " .. tostring(f) .. ")")
  end
  return nil
end

function V.route(ctx)
  if ctx.uri == "/api/authentication/login" then
    if ctx.method ~= "GET" and ctx.method ~= "POST" then
      return nil, E("method", "Login takes GET or POST")
    end
    return { op = "login" }
  end
  local extended = ctx.uri:find("^/api/user/extended/") ~= nil
  local pattern = extended and "^/api/user/extended/([^/]+)/?$" or "^/api/user/([^/]+)/?$"
  local ops = extended and { GET = "get" } or { PUT = "update", GET = "get" }
  local route, err = util.path_route(ctx, pattern, util.is_pos_int, ops)
  if not route then return nil, err end
  err = needs_json_format(ctx)
  if err then return nil, err end
  route.extended = extended
  return route
end

---------------------------------------------------------------------------
-- Tokens
---------------------------------------------------------------------------

function V.auth(ctx)
  local t = ctx:arg("t")
  if not t or t == "" then return E("unauthorized", "A token is required (query parameter t)") end
  if util.cred_state(t) ~= "ok" then return E("unauthorized", "Invalid token") end
  if t:sub(1, 4) == "tok-" then
    if not state.touch_token(t, state.config().bb_token_ttl) then
      return E("unauthorized", "Token is expired or was never issued; log in again")
    end
  elseif state.static_token_revoked(t) then
    return E("unauthorized", "Token is expired; log in again")
  end
  return nil
end

local LOGIN_FIELDS = {
  username = { type = "string", required = true },
  password = { type = "string", required = true },
  vendorkey = { type = "string" },
}

-- Username/password from the JSON body (POST) or the query (older GET form).
local function login_credentials(ctx)
  if ctx.method == "GET" then
    local err = needs_json_format(ctx)
    if err then return nil, nil, err end
    return ctx:arg("username"), ctx:arg("password")
  end
  local body, err = ctx:json_body()
  if not body then return nil, nil, err end
  local msg = schema.validate(body, LOGIN_FIELDS)
  if msg then return nil, nil, E("invalid", msg) end
  return body.username, body.password
end

V.ops = {}

function V.ops.login(ctx)
  state.incr("logins")
  local user, pass, err = login_credentials(ctx)
  if err then return nil, err end
  if not user or user == "" or not pass or pass == "" then
    return nil, E("invalid", "Both 'username' and 'password' are required")
  end
  if util.cred_state(user) ~= "ok" or util.cred_state(pass) ~= "ok" then
    return nil, E("unauthorized", "Invalid username or password")
  end
  local token = state.issue_token(state.config().bb_token_ttl)
  return 200, { Token = token, UserId = 100000 + ngx.crc32_short(user) % 900000 }
end

-- Fault bb-expired: the token in this request stops working, now and later.
V.faults = {
  ["bb-expired"] = function(ctx)
    local t = ctx:arg("t")
    if not t or t == "" or ctx.uri:find("^/api/authentication/") then return nil end
    state.expire_token(t)
    return E("unauthorized", "Token is expired; log in again")
  end,
}

---------------------------------------------------------------------------
-- Users
---------------------------------------------------------------------------

V.missing = util.missing_int

function V.default_user(key)
  local p = util.person(key)
  local u = { UserID = tonumber(key), FirstName = p.first, LastName = p.last, Email = p.email,
              HostId = "H" .. key, Greeting = p.first }
  for _, name in ipairs({ "MaidenName", "NickName", "Prefix", "Suffix", "MiddleName",
                          "OtherLastName", "Affiliation", "Gender", "BirthDate" }) do
    u[name] = json.null
  end
  for _, name in ipairs(CUSTOM) do u[name] = json.null end
  return u
end

-- FieldsToNull clears after the values are applied (null wins).
function V.extra_changes(changes, body)
  if not json.is_array(body.FieldsToNull) then return end
  for _, name in ipairs(body.FieldsToNull) do changes[name] = json.null end
end

-- CustomField1..10 and the other extended properties: only
-- /user/extended/{id} and the admin view show them (seed: "returned by
-- /user/extended/").
function V.view(u, route)
  local out = util.copy(u)
  if not (route and (route.extended or route.admin)) then
    for _, name in ipairs(CUSTOM) do out[name] = nil end
    for name in pairs(EXTENDED) do out[name] = nil end
  end
  return out
end

function V.render_update(view) return view end
function V.render_get(view) return view end

return V
