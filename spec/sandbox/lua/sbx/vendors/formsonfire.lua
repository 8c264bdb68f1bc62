-- Forms On Fire (Appenate) API v2: PUT /api/v2/user?format=json with Id,
-- CompanyId and IntegrationKey in the body; GET /api/v2/user?Id=&CompanyId=
-- &IntegrationKey=&format=json.
-- Seed: seeds/003 (field table, example; the table lost the name of its
-- Email row). Error envelope {User, ResponseStatus}, 401 for a bad key or
-- CompanyId, 405 for unknown endpoints, no Content-Type = XML: vendors.md §4.
local json = require "sbx.json"
local util = require "sbx.util"

local E = util.E
local V = { name = "formsonfire" }

local S = { type = "string" }
local B = { type = "boolean" }
V.fields = {
  Id = { type = "guid", required = true, store = false },
  Type = { type = "enum", values = { "Full", "Premium", "Standard", "Lite" } },
  FirstName = S, LastName = S, Email = S,
  Password = { type = "string", store = false },
  Status = S, ExternalId = S, TimeZone = S, Country = S, WebsiteRole = S,
  Folders = { type = "list", of = "string" }, Groups = { type = "list", of = "string" },
  DoNotEmail = B, ColorCode = S, Metadata = { type = "metadata" },
  UseNames = { type = "boolean", store = false },
  UseExternalIds = { type = "boolean", store = false },
  LoginID = S,
  CompanyId = { type = "integer", required = true, store = false },
  IntegrationKey = { type = "string", required = true, store = false },
}

V.rank = json.rank_of({
  "User", "ResponseStatus", "ErrorCode", "Message",
  "Id", "Type", "FirstName", "LastName", "Email", "Status", "ExternalId", "LoginID", "TimeZone",
  "TimeZoneOffSet", "Country", "WebsiteRole", "DoNotEmail", "ColorCode", "CreatedDate",
  "LastUpdated", "LastActivity", "UserAudits", "On", "Off", "OffReason", "Folders", "Groups",
  "Metadata", "Key", "Value", "CompanyId",
})

V.codes = {
  bad_url = { 400, "ValidationError" }, bad_body = { 400, "ValidationError" },
  invalid = { 400, "ValidationError" },
  unauthorized = { 401, "Unauthorized" }, forbidden = { 401, "Unauthorized" },
  not_found = { 404, "NotFound" }, no_route = { 405, "MethodNotAllowed" },
  method = { 405, "MethodNotAllowed" },
  ff200 = { 200, "ValidationError" },
  ["408"] = { 408, "RequestTimeout" }, ["429"] = { 429, "TooManyRequests" },
  ["500"] = { 500, "InternalServerError" }, ["502"] = { 502, "BadGateway" },
  ["503"] = { 503, "ServiceUnavailable" }, ["504"] = { 504, "GatewayTimeout" },
}

-- The user Id the client named, if any (errors echo it like the real API).
local function requested_id(ctx)
  if ctx.method == "GET" then return ctx:arg("Id") end
  local body = ctx.body or ctx:json_body()
  return body and type(body.Id) == "string" and body.Id or nil
end

function V.error_body(_, code, msg, ctx)
  return { User = { Id = requested_id(ctx) or json.null, Status = json.null },
           ResponseStatus = { ErrorCode = code, Message = msg } }
end

V.canned = '{"User":{"Id":"2ebc64a36a0d400d0000000000000000","Type":"Standard","FirstName":"Mc"}}'

function V.route(ctx)
  if ctx.uri ~= "/api/v2/user" then return nil, E("no_route", "No such endpoint: " .. ctx.uri) end
  local f = ctx:arg("format")
  f = f and f:lower()
  if f ~= "json" and f ~= "xml" then       -- seed 003: "either XML or JSON"
    return nil, E("bad_url", "Query parameter format=json or format=xml is required (got "
                  .. tostring(ctx:arg("format")) .. ")")
  end
  ctx.xml = f == "xml"                     -- the answer's format (sbx/xml.lua)
  if ctx.method == "PUT" then return { op = "update" } end
  if ctx.method ~= "GET" then return nil, E("method", "Method " .. ctx.method .. " not allowed") end
  local key = util.guid32(ctx:arg("Id"))
  if not key then return nil, E("bad_url", "Query parameter 'Id' must be a GUID") end
  return { op = "get", id = ctx:arg("Id"), key = key }
end

-- CompanyId + IntegrationKey: body for PUT, query for GET. Missing or bad
-- values are a 401; a wrongly typed one counts as present so that the schema
-- check answers 400 and says why.
local function company_and_key(ctx)
  if ctx.method == "GET" then
    local c = ctx:arg("CompanyId")
    return c and c:find("^%d+$") and tonumber(c) or nil, ctx:arg("IntegrationKey")
  end
  local body, err = ctx:json_body()
  if not body then return nil, nil, err end
  local c, k = body.CompanyId, body.IntegrationKey
  if c == json.null then c = nil elseif c ~= nil and type(c) ~= "number" then c = 1 end
  if k == json.null then k = nil elseif k ~= nil and type(k) ~= "string" then k = "typed-wrong" end
  return c, k
end

function V.auth(ctx)
  local company, key, err = company_and_key(ctx)
  if err then return err end
  if not company or company <= 0 then return E("unauthorized", "Invalid or missing CompanyId") end
  if util.cred_state(key) ~= "ok" then return E("unauthorized", "Invalid or missing IntegrationKey") end
  return nil
end

-- PUT: the user is named by the body's Id.
function V.locate(_, body, route)
  local key = util.guid32(body.Id)
  if not key then return E("invalid", "Field 'Id' is required and must be a GUID") end
  route.id, route.key = body.Id, key
  return nil
end

-- The company of a user is the one that first touched it.
function V.initial(ctx)
  local company = ctx.method == "GET" and tonumber(ctx:arg("CompanyId")) or ctx.body.CompanyId
  return { CompanyId = company }
end

V.missing = util.missing_hex

V.faults = {
  ["ff-error-200"] = function()
    return E("ff200", "The request could not be processed (injected error inside a 200)")
  end,
}

function V.default_user(key)
  local p = util.person(key)
  return {
    Id = key, Type = "Standard", FirstName = p.first, LastName = p.last, Email = p.email,
    Status = "Active", ExternalId = "EXT-" .. key:sub(1, 8), TimeZone = "Universal Standard Time",
    TimeZoneOffSet = 0, Country = "US", WebsiteRole = "ReadOnly",
    CreatedDate = "2019-09-11T06:24:03.9630000Z", LastUpdated = "2023-01-12T12:04:23.2518033Z",
    LastActivity = "2021-08-30T06:28:58.1000000Z",
    UserAudits = json.array({ { Id = 1600000 + p.hash % 100000, Email = p.email,
                                On = "2019-09-11T06:26:40.6428186Z", Type = "Standard",
                                Status = "Active" } }),
    Folders = json.array(), Groups = json.array(), Metadata = json.array(),
    CompanyId = json.null,
  }
end

function V.touch(now) return { LastUpdated = util.iso_7digits(now) } end

function V.view(u) return u end
function V.render_update(view) return { User = view } end
function V.render_get(view) return { User = view } end

return V
