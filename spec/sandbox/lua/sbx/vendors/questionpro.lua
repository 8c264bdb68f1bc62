-- QuestionPro API v2: PUT/GET /a/api/v2/users/{id}, key as ?apiKey= (seed)
-- or the api-key header (current docs).
-- Seed: seeds/004 (fields, response schema, error examples); error ids and
-- the string-or-number `id` quirk: vendors.md section 5.
local json = require "sbx.json"
local util = require "sbx.util"

local E = util.E
local V = { name = "questionpro" }

local S = { type = "string" }
V.fields = {
  departmentID = { type = "integer" }, firstName = S, lastName = S, emailAddress = S,
  password = { type = "string", store = false },
}

V.rank = json.rank_of({
  "response", "userID", "departmentID", "organizationID", "firstName", "lastName",
  "emailAddress", "phone", "licenseType", "licenseStartDate", "creationDate", "userType",
  "requestID", "error", "docs", "name", "httpStatusCode", "id", "message", "resourceUrl",
})

-- kind -> {status, name, id}. The 404 id is a number: the real API mixes both.
V.codes = {
  bad_url = { 400, "BAD_REQUEST", "1000" }, bad_body = { 400, "BAD_REQUEST", "1001" },
  invalid = { 400, "BAD_REQUEST", "1002" },
  unauthorized = { 401, "UNAUTHORIZED", "1010" }, forbidden = { 403, "FORBIDDEN", "1013" },
  not_found = { 404, "NOT_FOUND", 1040 }, no_route = { 404, "NOT_FOUND", 1040 },
  method = { 405, "METHOD_NOT_ALLOWED", "1003" },
  ["408"] = { 408, "REQUEST_TIMEOUT", "1026" }, ["429"] = { 429, "TOO_MANY_REQUESTS", "1013" },
  ["500"] = { 500, "INTERNAL_SERVER_ERROR", "1026" }, ["502"] = { 502, "BAD_GATEWAY", "1026" },
  ["503"] = { 503, "SERVICE_UNAVAILABLE", "1026" }, ["504"] = { 504, "GATEWAY_TIMEOUT", "1026" },
}

-- The seed's fixed messages where it has them; otherwise ours (naming the field).
local SEED_MESSAGES = {
  unauthorized = "Incorrect API Key",
  forbidden = "The user does not have permission to access the resource",
  not_found = "The resource that you're trying to access doesn't exist",
}

function V.error_body(status, code, msg, ctx, err)
  return { response = { error = {
    docs = "www.questionpro.com/api/error-codes.html", name = code, httpStatusCode = status,
    id = V.codes[err.kind][3], message = SEED_MESSAGES[err.kind] or msg,
    resourceUrl = ctx.uri,
  } } }
end

V.canned = '{"response":{"userID":1234599,"departmentID":2345,"organizationID":2345678}}'

function V.route(ctx)
  return util.path_route(ctx, "^/a/api/v2/users/([^/]+)$", util.is_pos_int,
                         { PUT = "update", GET = "get" })
end

function V.auth(ctx)
  local key = ctx:header("api-key") or ctx:arg("apiKey")
  local s = util.cred_state(key)
  if s == "forbidden" then return E("forbidden", "Key lacks permission") end
  if s ~= "ok" then return E("unauthorized", "Missing or invalid API key") end
  return nil
end

V.missing = util.missing_int

function V.default_user(key)
  local p = util.person(key)
  return {
    userID = tonumber(key), departmentID = 0, organizationID = 2345678,
    firstName = p.first, lastName = p.last, emailAddress = p.email, phone = "",
    licenseType = "Enterprise Sub Account Annual", licenseStartDate = "2019-12-18",
    creationDate = "2020-09-10", userType = "License",
  }
end

-- The response schema requires every field, so a cleared (null) field is
-- answered as "" (strings) or 0 (departmentID, "0 when unset").
function V.view(u)
  local out = util.copy(u)
  for k, v in pairs(out) do
    if v == json.null then out[k] = (k == "departmentID") and 0 or "" end
  end
  return out
end

function V.render_update(view, ctx) return { response = view, requestID = ctx.rid } end
V.render_get = V.render_update

return V
