-- SmarterMeasure v3: PUT/GET /v3/users/{userid}, HTTP Basic auth.
-- Seed: seeds/000 (request fields, example user); error envelope and the
-- 403-for-bad-credentials quirk: vendors.md section 1.
-- Quirks kept: numbers are answered as strings, empty values as [].
local json = require "sbx.json"
local util = require "sbx.util"

local E = util.E
local V = { name = "smartermeasure" }

local S = { type = "string" }
V.fields = {
  FirstName = S, LastName = S, Email = S,
  InternalID = { type = "string", store = "InternalId" },
  Gender = { type = "enum", values = { "M", "F" } },
  EthnicityID = { type = "integer", store = "EthnicityId" },
  AgeRange = S,
  HowManyCoursesTaken = { type = "string", store = "HowManyCourses" },
}

V.rank = json.rank_of({
  "UserId", "FirstName", "LastName", "Email", "InternalId", "AccessCode", "HowManyCourses",
  "AgeRange", "Gender", "EthnicityId", "CompletionPercentage", "DateTimeStarted",
  "DateTimeLastUpdated", "DateTimeCompleted", "Uri", "CustomData",
  "QuestionId", "ParameterId", "Response", "RestException", "Code", "Status", "ExtendedDetails",
})

-- kind -> {HTTP status, RestException.Code}
V.codes = {
  bad_url = { 400, "InvalidUri" }, bad_body = { 400, "InvalidInput" },
  invalid = { 400, "InvalidInput" }, bad_auth = { 400, "InvalidAuthenticationInfo" },
  unauthorized = { 403, "AuthenticationFailed" }, forbidden = { 403, "AuthenticationFailed" },
  not_found = { 404, "ResourceNotFound" }, no_route = { 404, "ResourceNotFound" },
  method = { 405, "UnsupportedHttpVerb" },
  ["408"] = { 408, "RequestTimeout" }, ["429"] = { 429, "TooManyRequests" },
  ["500"] = { 500, "InternalError" }, ["502"] = { 502, "BadGateway" },
  ["503"] = { 503, "ServiceUnavailable" }, ["504"] = { 504, "GatewayTimeout" },
}

function V.error_body(status, code, msg)
  return { RestException = { Code = code, Status = status, ExtendedDetails = msg } }
end

V.canned = '{"UserId":"10000001","FirstName":"Alice","LastName":"Carter","Email":"alice@example.com"}'

function V.route(ctx)
  return util.path_route(ctx, "^/v3/users/([^/]+)$", util.is_pos_int, { PUT = "update", GET = "get" })
end

-- HTTP Basic; a missing header is an authentication failure (403), a
-- malformed one is InvalidAuthenticationInfo (400).
function V.auth(ctx)
  local h = ctx:header("authorization")
  if not h then return E("unauthorized", "Authentication required (HTTP Basic)") end
  local b64 = h:match("^%s*[Bb][Aa][Ss][Ii][Cc]%s+(%S+)%s*$")
  if not b64 then return E("bad_auth", "Authorization header must use the Basic scheme") end
  local raw = ngx.decode_base64(b64)
  local user, pass = (raw or ""):match("^([^:]*):(.*)$")
  if not user then return E("bad_auth", "Malformed Basic credentials") end
  if util.cred_state(user) ~= "ok" or util.cred_state(pass) ~= "ok" then
    return E("unauthorized", "Authentication failed for access key '" .. user .. "'")
  end
  return nil
end

V.missing = util.missing_int

local function custom_data()
  local rows = { { "611", "coid" }, { "612", "dcc" }, { "1972", "custom_canvas_user_id" },
                 { "2172", "SessionSid" } }
  local out = json.array()
  for i, r in ipairs(rows) do
    out[i] = { QuestionId = r[1], ParameterId = r[2], Response = json.array() }
  end
  return out
end

-- Stored form: plain values, json.null for "empty" (rendered as []).
function V.default_user(key)
  local p = util.person(key)
  return {
    UserId = key, FirstName = p.first, LastName = p.last, Email = p.email,
    InternalId = "STU-" .. key, AccessCode = ("%08X"):format(p.hash):sub(1, 8),
    HowManyCourses = json.null, AgeRange = json.null, Gender = json.null,
    CompletionPercentage = "0", DateTimeStarted = "2026-03-20T18:40:08Z",
    DateTimeLastUpdated = json.null, DateTimeCompleted = json.null,
    Uri = "/users/" .. key, CustomData = custom_data(),
  }
end

function V.touch(now) return { DateTimeLastUpdated = util.iso_seconds(now) } end

-- SmarterMeasure's wire quirks: numbers as strings, empty as [].
local function wire(v)
  if v == json.null or v == nil then return json.array() end
  if type(v) == "number" then return json.encode(v) end
  return v
end

function V.view(u)
  local out = {}
  for k, v in pairs(u) do out[k] = (k == "CustomData") and v or wire(v) end
  return out
end

-- The seed's reply types Gender, AgeRange and HowManyCourses as any[] (its
-- example shows [] for each) without saying what a set value looks like.
-- The sandbox answers both shapes: the update's answer carries the plain
-- string, the read (GET) a one-element array ["M"]; `verify` must take both.
local ANY_LIST = { "Gender", "AgeRange", "HowManyCourses" }

function V.render_update(view) return view end
function V.render_get(view)
  for _, k in ipairs(ANY_LIST) do
    if type(view[k]) == "string" then view[k] = json.array({ view[k] }) end
  end
  return view
end

return V
