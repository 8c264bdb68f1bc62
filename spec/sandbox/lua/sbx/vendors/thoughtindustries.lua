-- Thought Industries: PUT/GET /incoming/v2/users/{uuid}, Bearer key.
-- Seed: seeds/001 (parameter table, APIUpdateUser example); status codes,
-- the 429 body and the X-RateLimit-* headers: vendors.md section 2.
-- The seed marks every license/course/bundle/learning-path list "Required",
-- yet its own example request sends two of the eleven. The seed's example
-- wins: a list may be absent (nothing to merge); when present it must be
-- an array. The client still sends [] for each absent one (our choice).
local json = require "sbx.json"
local util = require "sbx.util"

local E = util.E
local V = { name = "thoughtindustries", rate_limited = true }

local S = { type = "string" }
local B = { type = "boolean" }
local U = { type = "uuid" }
-- Request-only fields: accepted and checked, but not part of the user object.
local function req_list(of) return { type = "list", of = of, store = false } end

V.fields = {
  email = S, externalCustomerId = S,
  studentLicenseSkus = req_list("string"), managerLicenseSkus = req_list("string"),
  studentLicenseIds = req_list("uuid"), managerLicenseIds = req_list("uuid"),
  role = S,
  clientSku = { type = "string", store = false }, clientSlug = { type = "string", store = false },
  clientId = U,
  replaceLicenseAccess = { type = "boolean", store = false },
  courseIds = req_list("uuid"), courseSlugs = req_list("string"), courseSkus = req_list("string"),
  bundleSlugs = req_list("string"), learningPathSlugs = req_list("string"),
  learningPathSkus = req_list("string"), learningPathIds = req_list("uuid"),
  firstName = S, lastName = S, address1 = S, address2 = S, city = S, state = S,
  zipCode = S, country = S, telephone = S, language = S,
  tieredSubscription = B,
  replaceCourseAccess = { type = "boolean", store = false },
  replaceLearningPathAccess = { type = "boolean", store = false },
  replaceBundleAccess = { type = "boolean", store = false },
  customFields = { type = "object" },
  sfContactId = { type = "sfid" }, sfAccountId = { type = "sfid" }, dualRole = B,
  balance = { type = "number" }, enforceAccessDays = B, preferredCurrency = S,
  panoramaEnrollmentOptions = { type = "object", store = false },
}
for i = 1, 10 do V.fields["ref" .. i] = S end

-- Key order of answers: the seed's APIUpdateUser example, then our subset.
local ORDER = {
  "data", "APIUpdateUser", "UserById", "error", "message", "retryAfter",
  "id", "email", "firstName", "abbreviatedName", "asset", "lastName", "name", "lastActiveAt",
  "bio", "twoFactorEnabled", "firstInitial", "lastInitial", "invitedByName", "shouldHighlight",
  "externalCustomerId", "role", "clientId", "address1", "address2", "city", "state", "zipCode",
  "country", "telephone", "language", "preferredCurrency", "balance", "tieredSubscription",
  "dualRole", "enforceAccessDays",
}
for i = 1, 10 do ORDER[#ORDER + 1] = "ref" .. i end
for _, k in ipairs({ "customFields", "sfContactId", "sfAccountId", "purchasedCourses",
                     "purchasedBundles", "activeLicense" }) do ORDER[#ORDER + 1] = k end
V.rank = json.rank_of(ORDER)

V.codes = {
  bad_url = { 400, "bad_request" }, bad_body = { 400, "bad_request" },
  invalid = { 400, "validation_error" },
  unauthorized = { 401, "unauthorized" }, forbidden = { 403, "forbidden" },
  not_found = { 404, "not_found" }, no_route = { 404, "not_found" },
  method = { 405, "method_not_allowed" },
  ["408"] = { 408, "request_timeout" }, ["429"] = { 429, "rate_limit_exceeded" },
  ["500"] = { 500, "internal_server_error" }, ["502"] = { 502, "bad_gateway" },
  ["503"] = { 503, "service_unavailable" }, ["504"] = { 504, "gateway_timeout" },
}

function V.error_body(_, code, msg, _, err)
  return { error = code, message = msg, retryAfter = err.retry_after }
end

V.canned = '{"data":{"APIUpdateUser":{"id":"00000000-0000-0000-0000-000000000000","email":"a@example.com"}}}'

function V.route(ctx)
  return util.path_route(ctx, "^/incoming/v2/users/([^/]+)$", util.is_uuid,
                         { PUT = "update", GET = "get" }, string.lower)
end

function V.auth(ctx)
  local h = ctx:header("authorization")
  local key = h and h:match("^%s*[Bb]earer%s+(%S+)%s*$")
  if not key then return E("unauthorized", "Missing or malformed 'Authorization: Bearer <key>' header") end
  local s = util.cred_state(key)
  if s == "forbidden" then return E("forbidden", "This API key lacks permission to update users") end
  if s ~= "ok" then return E("unauthorized", "Invalid API key") end
  return nil
end

V.missing = util.missing_hex

function V.default_user(key)
  local p = util.person(key)
  local u = {
    id = key, email = p.email, firstName = p.first, lastName = p.last,
    asset = json.null, bio = json.null, lastActiveAt = "2024-01-01T00:00:00.000Z",
    twoFactorEnabled = false, invitedByName = json.null, shouldHighlight = false,
    externalCustomerId = "ext-" .. key:sub(1, 8), role = "learner", clientId = json.null,
    address1 = json.null, address2 = json.null, city = json.null, state = json.null,
    zipCode = json.null, country = json.null, telephone = json.null, language = "en",
    preferredCurrency = "USD", balance = 0, tieredSubscription = false, dualRole = false,
    enforceAccessDays = false, customFields = json.object(),
    sfContactId = json.null, sfAccountId = json.null,
    purchasedCourses = json.array(), purchasedBundles = json.array(), activeLicense = json.null,
  }
  for i = 1, 10 do u["ref" .. i] = json.null end
  return u
end

local function str(v) return type(v) == "string" and v or "" end

-- The first character, whole: a byte cut would break UTF-8 (Óscar).
local function initial(s)
  return s:match("^[%z\1-\127\194-\244][\128-\191]*") or ""
end

-- name/initials are derived from firstName/lastName, as the real API does.
function V.view(u)
  local out = util.copy(u)
  local first, last = str(u.firstName), str(u.lastName)
  out.name = (first .. " " .. last):match("^%s*(.-)%s*$")
  out.abbreviatedName = last ~= "" and (first .. " " .. initial(last) .. ".")
    or first
  out.firstInitial, out.lastInitial = initial(first), initial(last)
  return out
end

function V.render_update(view) return { data = { APIUpdateUser = view } } end
function V.render_get(view) return { data = { UserById = view } } end

return V
