-- Self-test of the vendor sandbox (spec/sandbox/), driven with the curl
-- binary through spec/support/sandbox.lua: every vendor against its seed,
-- validation, auth, the not-found rule, every fault, the admin API, TLS and
-- the canned benchmark endpoints.
--
-- It runs a PRIVATE instance (USERUPD_SELFTEST_PORT, by default the
-- checkout's block + 100, and +454 for TLS; prefix .sandbox-selftest) and
-- resets it before each test, so it never disturbs the checkout's sandbox
-- that other specs and the demo use. The instance is stopped at the end.
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"

-- USERUPD_SELFTEST_PORT moves it (two checkouts testing at once).
local SELFTEST_PORT = tonumber(os.getenv("USERUPD_SELFTEST_PORT")
                               or sandbox.ports().selftest)
sandbox.use({ port = SELFTEST_PORT, tls_port = SELFTEST_PORT + 354,
              prefix = sandbox.root .. "/.sandbox-selftest" })

local JSON_CT = "application/json"
local UUID = "^%x+%-%x+%-%x+%-%x+%-%x+$"

-- Merges request options; headers are merged, other keys replaced.
local function opts(base, extra)
  local o, headers = {}, {}
  for _, t in ipairs({ base, extra or {} }) do
    for k, v in pairs(t) do
      if k == "headers" then
        for hk, hv in pairs(v) do headers[hk] = hv end
      else
        o[k] = v
      end
    end
  end
  o.headers = headers
  return o
end

local function fault(name) return { headers = { ["X-Sandbox-Fault"] = name } } end

local function sleep(secs) os.execute("sleep " .. secs) end

---------------------------------------------------------------------------
-- Per-vendor requests (auth placed as each seed says)
---------------------------------------------------------------------------

local function sm(method, id, body, extra)
  return sandbox.http(method, "/v3/users/" .. id, opts({
    user = "access-key:secret", body = body, headers = { ["Content-Type"] = JSON_CT } }, extra))
end

local function ti(method, id, body, extra)
  return sandbox.http(method, "/incoming/v2/users/" .. id, opts({
    body = body,
    headers = { ["Content-Type"] = JSON_CT, Authorization = "Bearer ti_test_key" } }, extra))
end

local function bb(method, id, body, extra)
  local token = extra and extra.token or "static-token"
  return sandbox.http(method, ("/api/user/%s?t=%s&format=json"):format(id, token), opts({
    body = body, headers = { ["Content-Type"] = JSON_CT } }, extra))
end

local function bb_login(username)
  local res = sandbox.http("POST", "/api/authentication/login", {
    body = cjson.encode({ username = username or "api-user", password = "pw" }),
    headers = { ["Content-Type"] = JSON_CT } })
  return res, res.status == 200 and sandbox.decode(res).Token or nil
end

local function ff_put(body, extra)
  return sandbox.http("PUT", "/api/v2/user?format=json", opts({
    body = body, headers = { ["Content-Type"] = JSON_CT } }, extra))
end

local function ff_get(id, extra)
  return sandbox.http("GET", ("/api/v2/user?Id=%s&CompanyId=12345&IntegrationKey=key&format=json"):format(id),
                      opts({}, extra))
end

local function qp(method, id, body, extra)
  return sandbox.http(method, "/a/api/v2/users/" .. id .. "?apiKey=qp-key", opts({
    body = body, headers = { ["Content-Type"] = JSON_CT } }, extra))
end

---------------------------------------------------------------------------
-- Seed example bodies
---------------------------------------------------------------------------

-- seeds/000, verbatim.
local SM_SEED = [[
{
  "FirstName": "<string>",
  "LastName": "<string>",
  "Email": "<string>",
  "InternalID": "<string>",
  "EthnicityID": 123,
  "AgeRange": "<string>",
  "HowManyCoursesTaken": "<string>"
}]]

-- seeds/001, verbatim: it omits nine lists the same page marks Required
-- (the sandbox accepts it as written; the client sends [] for each).
local TI_SEED = [[{
"email": "string",
"externalCustomerId": "string",
"studentLicenseSkus": [],
"managerLicenseSkus": []
}]]
local TI_LISTS = '"studentLicenseSkus":[],"managerLicenseSkus":[],"studentLicenseIds":[],'
  .. '"managerLicenseIds":[],"courseIds":[],"courseSlugs":[],"courseSkus":[],"bundleSlugs":[],'
  .. '"learningPathSlugs":[],"learningPathSkus":[],"learningPathIds":[]'
-- A TI body: the given members plus every required list (empty).
local function ti_body(members)
  return "{" .. (members and (members .. ",") or "") .. TI_LISTS .. "}"
end
local TI_SEED_COMPLETE = ti_body('"email":"string","externalCustomerId":"string"')
local TI_ID = "3f2b6c1e-8a4d-4f0b-9c2e-5d7a1b3c9e01"

-- seeds/002, verbatim.
local BB_SEED = [[
{
  "Email": "MadisonAbelle@blackbaud.com",
  "MaidenName": "Smith",
  "NickName": "",
  "Prefix": "Mrs.",
  "CustomField1": "Custom content",
  "FieldsToNull": ["MiddleName"]
}]]

-- seeds/003 with its redacted X's filled in (the seed is not valid JSON).
local FF_ID = "2ebc64a36a0d400d0123456789abcdef"
local FF_SEED = ([[
{
"Id": "%s",
"Type": "Standard",
"CompanyId": 12345,
"IntegrationKey": "78eec3032af240f0123456789"
}]]):format(FF_ID)
local function ff_body(members)
  return ('{"Id":"%s","CompanyId":12345,"IntegrationKey":"key"%s}')
    :format(FF_ID, members and ("," .. members) or "")
end

-- seeds/004, the PHP example (the one with password).
local QP_SEED = [[{
        "departmentID": 2345,
        "firstName": "newfirstname",
        "lastName": "newlastname",
        "password":"passworder",
        "emailAddress": "updatedsubuser@emaildomain.com"
 }]]

---------------------------------------------------------------------------

describe("vendor sandbox", function()
  lazy_setup(function() sandbox.start() end)
  lazy_teardown(function() sandbox.stop() end)
  before_each(function() sandbox.reset() end)

  describe("ctl", function()
    it("start is idempotent and status reports the instance", function()
      assert.is_true(sandbox.start())
      local p = io.popen(("USERUPD_SANDBOX_PORT=" .. SELFTEST_PORT
        .. " USERUPD_SANDBOX_PREFIX=%s %s status; echo rc=$?")
        :format(sandbox.prefix(), sandbox.ctl))
      local out = p:read("*a")
      p:close()
      assert.matches("running: pid %d+", out)
      assert.matches("rc=0", out)
    end)

    it("prints this checkout's url and CA path", function()
      local p = io.popen("env -u USERUPD_SANDBOX_PORT -u USERUPD_SANDBOX_PREFIX "
        .. sandbox.ctl .. " url; env -u USERUPD_SANDBOX_PREFIX " .. sandbox.ctl .. " ca")
      local out = p:read("*a")
      p:close()
      local f = assert(io.open(sandbox.root .. "/.sandbox/ports"))
      local base = assert(tonumber(f:read("*l")))
      f:close()
      assert.are.equal(("http://127.0.0.1:%d\n"):format(base) .. sandbox.root
                       .. "/.sandbox/tls/ca.crt\n", out)
    end)

    it("picks a free block of ports per checkout and keeps it", function()
      local dir = os.tmpname()
      os.remove(dir)
      -- a copy of ctl in another "checkout": its own block, kept in a file
      local cmd = ("mkdir -p %s/spec/sandbox && cp %s %s/spec/sandbox/ && "
        .. "env -u USERUPD_SANDBOX_PORT -u USERUPD_SANDBOX_TLS_PORT "
        .. "-u USERUPD_SELFTEST_PORT -u USERUPD_OPENRESTY_PORT "
        .. "%s/spec/sandbox/ctl ports"):format(dir, sandbox.ctl, dir, dir)
      local p = io.popen(cmd .. " && cat " .. dir .. "/.sandbox/ports")
      local out = p:read("*a")
      p:close()
      os.execute("rm -rf " .. dir)
      local port, base = out:match("USERUPD_SANDBOX_PORT=(%d+).*\n(%d+)\n$")
      assert.are.equal(port, base, out)
      assert.matches("USERUPD_SANDBOX_TLS_PORT=" .. (base + 1) .. " ", out, 1, true)
      assert.matches("USERUPD_SELFTEST_PORT=" .. (base + 100) .. " ", out, 1, true)
      assert.is_true(tonumber(base) >= 20000 and tonumber(base) < 30000)
    end)

    it("lets the environment choose the ports", function()
      local p = io.popen("USERUPD_SANDBOX_PORT=35999 USERUPD_SANDBOX_TLS_PORT=35998 "
        .. "USERUPD_SELFTEST_PORT=35997 USERUPD_OPENRESTY_PORT=35996 " .. sandbox.ctl .. " ports")
      local out = p:read("*a")
      p:close()
      assert.are.equal("export USERUPD_SANDBOX_PORT=35999 USERUPD_SANDBOX_TLS_PORT=35998 "
        .. "USERUPD_SELFTEST_PORT=35997 USERUPD_OPENRESTY_PORT=35996\n", out)
    end)
  end)

  describe("SmarterMeasure", function()
    it("accepts the seed body and answers the user object, numbers as strings", function()
      local res = sm("PUT", 10000001, SM_SEED)
      assert.are.equal(200, res.status)
      assert.matches(UUID, res.headers["x-request-id"])
      local u = sandbox.decode(res)
      assert.are.equal("10000001", u.UserId)
      assert.are.equal("<string>", u.InternalId)           -- InternalID -> InternalId
      assert.are.equal("<string>", u.HowManyCourses)       -- HowManyCoursesTaken -> HowManyCourses
      assert.are.equal("123", u.EthnicityId)
      assert.are.equal("/users/10000001", u.Uri)
      assert.are.equal(4, #u.CustomData)
      assert.matches("^%[%]", res.body:match('"DateTimeCompleted":(%S+)'))
      assert.are.equal("<string>", sandbox.user("smartermeasure", 10000001).InternalId)
      assert.are.equal(1, sandbox.puts("smartermeasure")["10000001"])
    end)

    it("GET answers the stored user", function()
      sm("PUT", 42, '{"FirstName":"Ann"}')
      local u = sandbox.decode(sm("GET", 42))
      assert.are.equal("Ann", u.FirstName)
    end)

    it("null clears a field, answered as [], only with X-Userupd-Send-Null", function()
      sm("PUT", 42, '{"AgeRange":"18-24"}')
      local res = sm("PUT", 42, '{"AgeRange":null}')
      assert.are.equal(400, res.status)           -- the seed documents no clearing
      local e = sandbox.decode(res).RestException
      assert.are.equal("InvalidInput", e.Code)
      assert.matches("AgeRange", e.ExtendedDetails, 1, true)
      assert.matches("X-Userupd-Send-Null", e.ExtendedDetails, 1, true)
      res = sm("PUT", 42, '{"AgeRange":null}', { headers = { ["X-Userupd-Send-Null"] = "true" } })
      assert.are.equal(200, res.status)
      assert.matches('"AgeRange":%[%]', res.body)
    end)

    it("rejects a bad enum, an unknown field and a wrong type with InvalidInput", function()
      for body, field in pairs({ ['{"Gender":"X"}'] = "Gender", ['{"Foo":1}'] = "Foo",
                                 ['{"EthnicityID":"12"}'] = "EthnicityID",
                                 ['{"FirstName":5}'] = "FirstName" }) do
        local res = sm("PUT", 1, body)
        assert.are.equal(400, res.status)
        local e = sandbox.decode(res).RestException
        assert.are.equal("InvalidInput", e.Code)
        assert.are.equal(400, e.Status)
        assert.truthy(e.ExtendedDetails:find(field, 1, true))
      end
    end)

    it("answers 403 AuthenticationFailed for bad or missing credentials", function()
      local no_auth = { body = "{}", headers = { ["Content-Type"] = JSON_CT } }
      local answers = {
        sm("PUT", 1, "{}", { user = "bad-key:secret" }),
        sm("PUT", 1, "{}", { user = "key:badsecret" }),
        sandbox.http("PUT", "/v3/users/1", no_auth),
      }
      for _, res in ipairs(answers) do
        assert.are.equal(403, res.status)
        assert.are.equal("AuthenticationFailed", sandbox.decode(res).RestException.Code)
      end
      local res = sandbox.http("PUT", "/v3/users/1", opts(no_auth, { headers = { Authorization = "Bearer x" } }))
      assert.are.equal(400, res.status)
      assert.are.equal("InvalidAuthenticationInfo", sandbox.decode(res).RestException.Code)
    end)

    it("answers 404 ResourceNotFound for ids >= 900000000, 400 for non-numeric ids", function()
      local res = sm("PUT", 900000000, "{}")
      assert.are.equal(404, res.status)
      assert.are.equal("ResourceNotFound", sandbox.decode(res).RestException.Code)
      assert.are.equal(200, sm("PUT", 899999999, "{}").status)
      assert.are.equal(400, sm("PUT", "abc", "{}").status)
    end)

    it("wants Content-Type: application/json, a JSON object and PUT/GET only", function()
      assert.are.equal(400, sm("PUT", 1, "{}", { headers = { ["Content-Type"] = "text/plain" } }).status)
      assert.are.equal(400, sm("PUT", 1, "{}", { headers = { ["Content-Type"] = "application/jsonp" } }).status)
      local charset = { headers = { ["Content-Type"] = "application/json; charset=utf-8" } }
      assert.are.equal(200, sm("PUT", 1, "{}", charset).status)
      assert.are.equal(400, sm("PUT", 1, '{"FirstName":"a",}').status)      -- trailing comma
      assert.are.equal(400, sm("PUT", 1, '{"FirstName":"a","FirstName":"b"}').status)
      assert.are.equal(400, sm("PUT", 1, "[]").status)
      assert.are.equal(400, sm("PUT", 1, "").status)
      assert.are.equal(400, sm("PUT", 1, '{"FirstName":"\255"}').status)    -- invalid UTF-8
      assert.are.equal(405, sm("POST", 1, "{}").status)
    end)
  end)

  describe("Thought Industries", function()
    it("accepts the seed's own example, which omits nine of the Required lists", function()
      local res = ti("PUT", TI_ID, TI_SEED)
      assert.are.equal(200, res.status)
      local u = sandbox.decode(res).data.APIUpdateUser
      assert.are.equal("string", u.email)
      assert.are.equal("string", u.externalCustomerId)
      res = ti("PUT", TI_ID, '{"courseIds":"not-a-list"}')   -- present lists are still checked
      assert.are.equal(400, res.status)
      assert.matches("courseIds", sandbox.decode(res).message)
    end)

    it("accepts the completed seed body and answers data.APIUpdateUser", function()
      local res = ti("PUT", TI_ID, TI_SEED_COMPLETE)
      assert.are.equal(200, res.status)
      local u = sandbox.decode(res).data.APIUpdateUser
      assert.are.equal(TI_ID, u.id)
      assert.are.equal("string", u.email)
      assert.are.equal("string", u.externalCustomerId)
      local got = sandbox.decode(ti("GET", TI_ID)).data.UserById
      assert.are.equal("string", got.email)
    end)

    it("tells [] from {}: a list sent as {} and an object sent as [] are rejected", function()
      local res = ti("PUT", TI_ID, (ti_body():gsub('"courseIds":%[%]', '"courseIds":{}')))
      assert.are.equal(400, res.status)
      assert.matches("courseIds", sandbox.decode(res).message)
      res = ti("PUT", TI_ID, ti_body('"customFields":[]'))
      assert.are.equal(400, res.status)
      assert.matches("customFields", sandbox.decode(res).message)
      assert.are.equal(200, ti("PUT", TI_ID, ti_body('"customFields":{"tier":"gold"}')).status)
    end)

    it("checks uuid lists, numbers and booleans", function()
      local bad = ti("PUT", TI_ID, (ti_body():gsub('"courseIds":%[%]', '"courseIds":["nope"]')))
      assert.are.equal(400, bad.status)
      assert.are.equal(200, ti("PUT", TI_ID, ti_body('"balance":12.5,"dualRole":true')).status)
      assert.are.equal(400, ti("PUT", TI_ID, ti_body('"ref3":null')).status)
      assert.are.equal(200, ti("PUT", TI_ID, ti_body('"ref3":null'),
                               { headers = { ["X-Userupd-Send-Null"] = "true" } }).status)
      assert.are.equal(400, ti("PUT", TI_ID, ti_body('"dualRole":"yes"')).status)
    end)

    it("answers 401 / 403 / 404 as {error, message}", function()
      local res = ti("GET", TI_ID, nil, { headers = { Authorization = false } })
      assert.are.equal(401, res.status)
      assert.are.equal("unauthorized", sandbox.decode(res).error)
      assert.are.equal(401, ti("GET", TI_ID, nil, { headers = { Authorization = "Bearer bad-key" } }).status)
      assert.are.equal(403, ti("GET", TI_ID, nil, { headers = { Authorization = "Bearer badperm-key" } }).status)
      res = ti("PUT", "ffffffff-0000-4000-8000-000000000000", TI_SEED_COMPLETE)
      assert.are.equal(404, res.status)
      assert.are.equal("not_found", sandbox.decode(res).error)
      assert.are.equal(400, ti("GET", "12345").status)
    end)

    it("emulates the rate limit with X-RateLimit-* headers and a 429", function()
      sandbox.config({ ti_limit = 2, ti_window = 30 })
      local first = ti("GET", TI_ID)
      assert.are.equal("2", first.headers["x-ratelimit-limit"])
      assert.are.equal("1", first.headers["x-ratelimit-remaining"])
      assert.matches("^%d+$", first.headers["x-ratelimit-reset"])
      assert.matches("^%d+%.%d%d%d$", first.headers["x-ratelimit-reset-after"])
      ti("GET", TI_ID)
      local res = ti("GET", TI_ID)
      assert.are.equal(429, res.status)
      assert.are.equal("0", res.headers["x-ratelimit-remaining"])
      local e = sandbox.decode(res)
      assert.are.equal("rate_limit_exceeded", e.error)
      assert.are.equal(tonumber(res.headers["retry-after"]), e.retryAfter)
      assert.is_true(e.retryAfter >= 1)
      assert.is_nil(sm("GET", 1).headers["x-ratelimit-limit"])   -- TI only
    end)
  end)

  describe("Blackbaud", function()
    it("logs in by POST (JSON) and by GET (query) and counts logins", function()
      local res, token = bb_login()
      assert.are.equal(200, res.status)
      assert.matches("^tok%-%d+%-%x+$", token)
      assert.are.equal("number", type(sandbox.decode(res).UserId))
      res = sandbox.http("GET", "/api/authentication/login?username=u&password=p&format=json")
      assert.are.equal(200, res.status)
      assert.matches("^tok%-", sandbox.decode(res).Token)
      assert.are.equal(2, sandbox.stats().logins)
      res = sandbox.http("GET", "/api/authentication/login?username=bad&password=p&format=json")
      assert.are.equal(401, res.status)
      assert.are.equal("UNAUTHORIZED_ACCESS", sandbox.decode(res).ErrorType)
    end)

    it("accepts the seed body with an issued token; FieldsToNull clears", function()
      local _, token = bb_login()
      bb("PUT", 1574489, '{"MiddleName":"Q"}', { token = token })
      local res = bb("PUT", 1574489, BB_SEED, { token = token })
      assert.are.equal(200, res.status)
      local u = sandbox.decode(res)
      assert.are.equal(1574489, u.UserID)
      assert.are.equal("Smith", u.MaidenName)
      assert.are.equal("", u.NickName)
      assert.are.equal(cjson.null, u.MiddleName)
      assert.is_nil(u.CustomField1)                 -- extended property: not in the base user
      local ext = sandbox.http("GET", "/api/user/extended/1574489?t=" .. token .. "&format=json")
      assert.are.equal("Custom content", sandbox.decode(ext).CustomField1)
      assert.are.equal("Custom content", sandbox.user("blackbaud", 1574489).CustomField1)
    end)

    it("validates FieldsToNull names and BirthDate", function()
      local res = bb("PUT", 7, '{"FieldsToNull":["UserID"]}')
      assert.are.equal(400, res.status)
      local e = sandbox.decode(res)
      assert.are.equal("VALIDATION", e.ErrorType)
      assert.matches("FieldsToNull", e.Error)
      assert.are.equal(200, bb("PUT", 7, '{"BirthDate":"2001-02-03"}').status)
      assert.are.equal(200, bb("PUT", 7, '{"BirthDate":"2001-02-03T04:05:06Z"}').status)
      assert.are.equal(400, bb("PUT", 7, '{"BirthDate":"03/02/2001"}').status)
    end)

    it("answers 401 UNAUTHORIZED_ACCESS for missing, bad and never-issued tokens", function()
      for _, token in ipairs({ "", "bad-token", "tok-999-abc" }) do
        local res = bb("PUT", 7, "{}", { token = token })
        assert.are.equal(401, res.status)
        assert.are.equal("UNAUTHORIZED_ACCESS", sandbox.decode(res).ErrorType)
      end
      assert.are.equal(200, bb("PUT", 7, "{}", { token = "some-static-token" }).status)
    end)

    it("needs format=json and answers 404 NOT_FOUND for ids >= 900000000", function()
      assert.are.equal(400, sandbox.http("GET", "/api/user/7?t=x").status)
      local res = bb("GET", 900000001)
      assert.are.equal(404, res.status)
      assert.are.equal("NOT_FOUND", sandbox.decode(res).ErrorType)
    end)

    it("expires issued tokens after bb_token_ttl idle seconds and on bb/expire", function()
      sandbox.config({ bb_token_ttl = 1 })
      local _, token = bb_login()
      assert.are.equal(200, bb("GET", 7, nil, { token = token }).status)
      sleep(1.3)
      assert.are.equal(401, bb("GET", 7, nil, { token = token }).status)
      sandbox.config({ bb_token_ttl = 1200 })
      _, token = bb_login()
      assert.are.equal(200, bb("GET", 7, nil, { token = token }).status)
      sandbox.expire_bb_tokens()
      assert.are.equal(401, bb("GET", 7, nil, { token = token }).status)
    end)

    it("fault bb-expired answers 401 and really expires the token", function()
      local _, token = bb_login()
      local res = bb("GET", 7, nil, { token = token, headers = { ["X-Sandbox-Fault"] = "bb-expired" } })
      assert.are.equal(401, res.status)
      assert.are.equal("UNAUTHORIZED_ACCESS", sandbox.decode(res).ErrorType)
      assert.are.equal(401, bb("GET", 7, nil, { token = token }).status)
      bb("GET", 7, nil, { token = "static-2", headers = { ["X-Sandbox-Fault"] = "bb-expired" } })
      assert.are.equal(401, bb("GET", 7, nil, { token = "static-2" }).status)
    end)
  end)

  describe("Forms On Fire", function()
    it("accepts the seed body and answers {User}", function()
      local res = ff_put(FF_SEED)
      assert.are.equal(200, res.status)
      local u = sandbox.decode(res).User
      assert.are.equal(FF_ID, u.Id)
      assert.are.equal("Standard", u.Type)
      assert.are.equal(12345, u.CompanyId)
      assert.matches("%.%d%d%d%d%d%d%dZ$", u.LastUpdated)
    end)

    it("takes GUIDs with or without dashes for the same user; GET by query", function()
      local dashed = "2ebc64a3-6a0d-400d-0123-456789abcdef"
      assert.are.equal(200, ff_put(('{"Id":"%s","CompanyId":1,"IntegrationKey":"k","Email":"m@x.org"}')
        :format(dashed)).status)
      local u = sandbox.decode(ff_get(FF_ID)).User
      assert.are.equal("m@x.org", u.Email)
      assert.are.equal("m@x.org", sandbox.decode(ff_get(dashed)).User.Email)
    end)

    it("without Content-Type (read as XML) answers 400 in the {User, ResponseStatus} shape", function()
      local res = ff_put(FF_SEED, { headers = { ["Content-Type"] = false } })
      assert.are.equal(400, res.status)
      local b = sandbox.decode(res)
      assert.are.equal("ValidationError", b.ResponseStatus.ErrorCode)
      assert.are.equal(cjson.null, b.User.Status)
    end)

    it("answers in XML for format=xml (the seed: either XML or JSON)", function()
      local res = sandbox.http("PUT", "/api/v2/user?format=xml", opts({ body = FF_SEED,
        headers = { ["Content-Type"] = JSON_CT } }))
      assert.are.equal(200, res.status)
      assert.matches("^application/xml", res.headers["content-type"])
      assert.matches("^<%?xml ", res.body)
      assert.matches("<User>.*<Id>" .. FF_ID .. "</Id>.*</User>", res.body)
      assert.matches("<Type>Standard</Type>", res.body, 1, true)
      res = sandbox.http("GET", ("/api/v2/user?Id=%s&CompanyId=12345&IntegrationKey=key&format=XML")
        :format(FF_ID))
      assert.are.equal(200, res.status)
      assert.matches("<CompanyId>12345</CompanyId>", res.body, 1, true)
      res = sandbox.http("PUT", "/api/v2/user?format=yaml", opts({ body = FF_SEED,
        headers = { ["Content-Type"] = JSON_CT } }))
      assert.are.equal(400, res.status)
    end)

    it("takes Metadata items with Key only (the seed's example) or Key and Value", function()
      local res = ff_put(ff_body('"Metadata":[{"Key":"NameEUI"},{"Key":"a","Value":"b"}]'))
      assert.are.equal(200, res.status)
      local md = sandbox.decode(res).User.Metadata
      assert.are.equal("NameEUI", md[1].Key)
      assert.is_nil(md[1].Value)
      assert.are.equal("b", md[2].Value)
    end)

    it("validates Type, Metadata, lists and unknown fields", function()
      for body, field in pairs({ [ff_body('"Type":"Gold"')] = "Type",
                                 [ff_body('"Metadata":[{"Value":"a"}]')] = "Metadata",
                                 [ff_body('"Metadata":[{"Key":"a","Value":1}]')] = "Metadata",
                                 [ff_body('"Groups":"g1"')] = "Groups",
                                 [ff_body('"Emial":"x"')] = "Emial" }) do
        local res = ff_put(body)
        assert.are.equal(400, res.status)
        assert.truthy(sandbox.decode(res).ResponseStatus.Message:find(field, 1, true))
      end
      local ok = ff_body('"Metadata":[{"Key":"a","Value":"b"}],"Groups":[],"DoNotEmail":true')
      assert.are.equal(200, ff_put(ok).status)
    end)

    it("answers 401 for a bad IntegrationKey or CompanyId, 404 for ffffffff ids", function()
      local res = ff_put(('{"Id":"%s","CompanyId":12345,"IntegrationKey":"bad"}'):format(FF_ID))
      assert.are.equal(401, res.status)
      assert.are.equal("Unauthorized", sandbox.decode(res).ResponseStatus.ErrorCode)
      assert.are.equal(401, ff_put(('{"Id":"%s","CompanyId":0,"IntegrationKey":"k"}'):format(FF_ID)).status)
      res = ff_put('{"Id":"ffffffff6a0d400d0123456789abcdef","CompanyId":1,"IntegrationKey":"k"}')
      assert.are.equal(404, res.status)
      assert.are.equal("NotFound", sandbox.decode(res).ResponseStatus.ErrorCode)
    end)

    it("fault ff-error-200 answers 200 with a ResponseStatus error", function()
      local res = ff_put(FF_SEED, fault("ff-error-200"))
      assert.are.equal(200, res.status)
      local b = sandbox.decode(res)
      assert.are.equal("ValidationError", b.ResponseStatus.ErrorCode)
      assert.are.equal(FF_ID, b.User.Id)
      assert.is_nil(sandbox.user("formsonfire", FF_ID))
    end)
  end)

  describe("QuestionPro", function()
    it("accepts the seed body; requestID equals X-Request-Id", function()
      local res = qp("PUT", 1234599, QP_SEED)
      assert.are.equal(200, res.status)
      local b = sandbox.decode(res)
      assert.are.equal(1234599, b.response.userID)
      assert.are.equal(2345, b.response.departmentID)
      assert.are.equal("updatedsubuser@emaildomain.com", b.response.emailAddress)
      assert.is_nil(b.response.password)
      assert.are.equal(res.headers["x-request-id"], b.requestID)
    end)

    it("takes the key in the api-key header too; null (opted in) clears to \"\"", function()
      local res = sandbox.http("PUT", "/a/api/v2/users/5", {
        body = '{"firstName":null}', headers = { ["Content-Type"] = JSON_CT, ["api-key"] = "k" } })
      assert.are.equal(400, res.status)
      res = sandbox.http("PUT", "/a/api/v2/users/5", {
        body = '{"firstName":null}', headers = { ["Content-Type"] = JSON_CT, ["api-key"] = "k",
                                                 ["X-Userupd-Send-Null"] = "true" } })
      assert.are.equal(200, res.status)
      assert.are.equal("", sandbox.decode(res).response.firstName)
    end)

    it("uses error ids 1002 (schema), 1001 (not JSON), 1010, 1013 and numeric 1040", function()
      local e = sandbox.decode(qp("PUT", 5, '{"departmentID":"x"}')).response.error
      assert.are.equal("1002", e.id)
      assert.are.equal(400, e.httpStatusCode)
      assert.matches("departmentID", e.message)
      assert.are.equal("1001", sandbox.decode(qp("PUT", 5, "not json")).response.error.id)
      local res = sandbox.http("GET", "/a/api/v2/users/5")
      assert.are.equal(401, res.status)
      assert.are.equal("1010", sandbox.decode(res).response.error.id)
      res = sandbox.http("GET", "/a/api/v2/users/5?apiKey=badperm")
      assert.are.equal(403, res.status)
      assert.are.equal("1013", sandbox.decode(res).response.error.id)
      res = qp("GET", 987654321)
      assert.are.equal(404, res.status)
      local id = sandbox.decode(res).response.error.id
      assert.are.equal("number", type(id))
      assert.are.equal(1040, id)
    end)
  end)

  describe("faults by header", function()
    it("429 / 503 carry Retry-After, 429-noretry does not", function()
      local res = sm("PUT", 1, "{}", fault("429"))
      assert.are.equal(429, res.status)
      assert.are.equal("1", res.headers["retry-after"])
      assert.are.equal("TooManyRequests", sandbox.decode(res).RestException.Code)
      assert.are.equal("2", sm("PUT", 1, "{}", fault("429:retry_after=2")).headers["retry-after"])
      res = ti("PUT", TI_ID, TI_SEED_COMPLETE, fault("429-noretry"))
      assert.are.equal(429, res.status)
      assert.is_nil(res.headers["retry-after"])
      assert.is_nil(sandbox.decode(res).retryAfter)
      res = ti("PUT", TI_ID, TI_SEED_COMPLETE, fault("429"))
      assert.are.equal(1, sandbox.decode(res).retryAfter)
      res = qp("PUT", 1, "{}", fault("503"))
      assert.are.equal(503, res.status)
      assert.are.equal("1", res.headers["retry-after"])
    end)

    it("500 / 502 / 504 / 408 answer that status in the vendor's shape", function()
      for _, code in ipairs({ 500, 502, 504, 408 }) do
        local res = bb("PUT", 1, "{}", fault(tostring(code)))
        assert.are.equal(code, res.status)
        assert.truthy(sandbox.decode(res).ErrorType)
      end
      assert.are.equal(0, (sandbox.puts("blackbaud")["1"] or 0))
    end)

    it("drop closes without an answer and changes nothing", function()
      local res = sm("PUT", 1, '{"FirstName":"X"}', fault("drop"))
      assert.are.equal(0, res.status)
      assert.are.equal(52, res.rc)                      -- curl: empty reply
      assert.is_nil(sandbox.user("smartermeasure", 1))
    end)

    it("drop-body sends headers and part of a body, then closes; nothing stored", function()
      local res = sm("PUT", 1, '{"FirstName":"X"}', fault("drop-body"))
      assert.are.equal(200, res.status)
      assert.are.equal(18, res.rc)                      -- curl: partial file
      assert.is_nil(sandbox.user("smartermeasure", 1))
    end)

    it("truncated applies the update but cuts the answer short", function()
      local res = sm("PUT", 1, '{"FirstName":"X"}', fault("truncated"))
      assert.are.equal(200, res.status)
      assert.are.equal(18, res.rc)
      assert.is_true(#res.body < tonumber(res.headers["content-length"]))
      assert.are.equal("X", sandbox.user("smartermeasure", 1).FirstName)
    end)

    it("nonjson answers 200 with HTML", function()
      local res = qp("PUT", 1, "{}", fault("nonjson"))
      assert.are.equal(200, res.status)
      assert.matches("^text/html", res.headers["content-type"])
      assert.matches("^<!DOCTYPE html>", res.body)
    end)

    it("oversized answers N MiB (default 10)", function()
      local res = qp("PUT", 1, "{}", fault("oversized:mb=1"))
      assert.are.equal(200, res.status)
      assert.are.equal(1048576, #res.body)
      assert.are.equal(10485760, #qp("PUT", 1, "{}", fault("oversized")).body)
    end)

    it("stall and delay answer late but normally", function()
      local res = sm("PUT", 1, "{}", fault("stall:secs=1"))
      assert.are.equal(200, res.status)
      assert.is_true(res.time >= 1)
      res = sm("PUT", 1, "{}", fault("delay:ms=300"))
      assert.are.equal(200, res.status)
      assert.is_true(res.time >= 0.3)
    end)

    it("a client that times out during a stall leaves the user unchanged", function()
      local res = sm("PUT", 1, '{"FirstName":"Late"}', opts(fault("stall:secs=2"), { timeout = 1 }))
      assert.are.equal(28, res.rc)                      -- curl: timeout
      sleep(1.5)                                        -- past the end of the stall
      assert.is_nil(sandbox.user("smartermeasure", 1))
    end)

    it("ignore-field answers success but does not store the field", function()
      local res = sm("PUT", 1, '{"FirstName":"New","LastName":"Kept"}', fault("ignore-field:name=FirstName"))
      assert.are.equal(200, res.status)
      assert.are.equal("New", sandbox.decode(res).FirstName)
      local stored = sandbox.user("smartermeasure", 1)
      assert.are_not.equal("New", stored.FirstName)
      assert.are.equal("Kept", stored.LastName)
      res = sm("PUT", 2, '{"InternalID":"S-9"}', fault("ignore-field:name=InternalID"))
      assert.are.equal("S-9", sandbox.decode(res).InternalId)
      assert.are.equal("STU-2", sandbox.user("smartermeasure", 2).InternalId)
    end)

    it("an unknown fault is a sandbox error, not a vendor answer", function()
      local res = sm("PUT", 1, "{}", fault("explode"))
      assert.are.equal(400, res.status)
      assert.matches("unknown fault", sandbox.decode(res).sandbox_error)
    end)

    it("config delay_ms slows every vendor answer", function()
      sandbox.config({ delay_ms = 250 })
      assert.is_true(qp("GET", 1).time >= 0.25)
    end)
  end)

  describe("fault rules (admin)", function()
    it("count fires on the next N matching requests", function()
      sandbox.fault({ fault = "500", count = 2, path = "/v3/users/" })
      assert.are.equal(200, qp("GET", 1).status)       -- path does not match
      local got = {}
      for i = 1, 3 do got[i] = sm("GET", 1).status end
      assert.are.same({ 500, 500, 200 }, got)
    end)

    it("every fires on every K-th matching request; DELETE clears", function()
      sandbox.fault({ fault = "503", every = 3, vendor = "questionpro" })
      local got = {}
      for i = 1, 6 do got[i] = qp("GET", 1).status end
      assert.are.same({ 200, 200, 503, 200, 200, 503 }, got)
      local rules = sandbox.faults()
      assert.are.equal(6, rules[1].seen)
      assert.are.equal(2, rules[1].fired)
      sandbox.clear_faults()
      for _ = 1, 3 do assert.are.equal(200, qp("GET", 1).status) end
    end)

    it("rules accept parameters and reject unknown faults", function()
      sandbox.fault({ fault = "429:retry_after=3", count = 1 })
      assert.are.equal("3", sm("GET", 1).headers["retry-after"])
      local res = sandbox.http("POST", "/_sandbox/faults", {
        body = '{"fault":"nope"}', headers = { ["Content-Type"] = JSON_CT } })
      assert.are.equal(400, res.status)
    end)
  end)

  describe("admin API", function()
    it("stats counts requests by vendor and status, PUTs and logins", function()
      sm("PUT", 1, "{}")
      sm("PUT", 1, '{"Gender":"X"}')
      qp("GET", 1)
      bb_login()
      local s = sandbox.stats()
      assert.are.equal(4, s.requests)
      assert.are.equal(2, s.by_vendor.smartermeasure)
      assert.are.equal(3, s.by_status["200"])
      assert.are.equal(1, s.by_status["400"])
      assert.are.equal(1, s.puts)
      assert.are.equal(1, s.logins)
    end)

    it("puts lists successful PUTs per id, efficiently for 5,000 ids", function()
      local p = io.popen(("curl -s -o /dev/null -w '%%{http_code}\\n' -X PUT -u k:s "
        .. "-H 'Content-Type: application/json' --data-binary '{}' '%s/v3/users/[1-5000]' | sort | uniq -c")
        :format(sandbox.url()))
      local out = p:read("*a")
      p:close()
      assert.matches("5000 200", out)
      sm("PUT", 17, "{}")
      local puts = sandbox.puts("smartermeasure")
      local n = 0
      for _ in pairs(puts) do n = n + 1 end
      assert.are.equal(5000, n)
      assert.are.equal(2, puts["17"])
      assert.are.equal(1, puts["5000"])
    end)

    it("user: 404 until first touch (a GET creates the default user)", function()
      assert.is_nil(sandbox.user("questionpro", 77))
      qp("GET", 77)
      local u = sandbox.user("questionpro", 77)
      assert.are.equal(77, u.userID)
      assert.are.equal("Enterprise Sub Account Annual", u.licenseType)
    end)

    it("last returns the exact request bytes", function()
      local body = '{ "FirstName" : "J\195\188rgen" ,"LastName":"x"}'
      sm("PUT", 9, body, { headers = { ["X-Trace"] = "t1" } })
      local last = sandbox.last("smartermeasure")
      assert.are.equal("PUT", last.method)
      assert.are.equal("/v3/users/9", last.uri)
      assert.are.equal(body, last.body)
      assert.are.equal("t1", last.headers["x-trace"])
      assert.matches("^Basic ", last.headers.authorization)
      assert.is_nil(sandbox.last("blackbaud"))
    end)

    it("config validates keys; reset restores defaults and forgets users", function()
      local c = sandbox.config({ bb_token_ttl = 5, ti_limit = 10, ti_window = 2, delay_ms = 0 })
      assert.are.equal(5, c.bb_token_ttl)
      local res = sandbox.http("POST", "/_sandbox/config", {
        body = '{"nope":1}', headers = { ["Content-Type"] = JSON_CT } })
      assert.are.equal(400, res.status)
      qp("PUT", 3, '{"firstName":"A"}')
      sandbox.reset()
      assert.is_nil(sandbox.user("questionpro", 3))
      assert.are.equal(1200, sandbox.config({}).bb_token_ttl)
      assert.are.equal(0, sandbox.stats().requests)
    end)
  end)

  describe("TLS", function()
    it("verifies with the sandbox CA and fails without it", function()
      local res = sandbox.http("GET", sandbox.tls_url() .. "/_sandbox/ping", { cacert = sandbox.ca() })
      assert.are.equal(200, res.status)
      assert.are.equal(0, res.rc)
      res = sandbox.http("GET", "https://localhost:" .. (SELFTEST_PORT + 354) .. "/_sandbox/ping",
                         { cacert = sandbox.ca() })
      assert.are.equal(200, res.status)
      res = sandbox.http("GET", sandbox.tls_url() .. "/_sandbox/ping")
      assert.are.equal(60, res.rc)                      -- curl: untrusted certificate
    end)

    it("serves the vendor APIs over TLS", function()
      local res = sandbox.http("PUT", sandbox.tls_url() .. "/v3/users/1", {
        cacert = sandbox.ca(), user = "k:s", body = "{}", headers = { ["Content-Type"] = JSON_CT } })
      assert.are.equal(200, res.status)
    end)
  end)

  describe("canned /_fast endpoints", function()
    it("answer each vendor's success shape without state", function()
      local cases = {
        smartermeasure = "/v3/users/1", thoughtindustries = "/incoming/v2/users/" .. TI_ID,
        blackbaud = "/api/user/1?t=x&format=json", formsonfire = "/api/v2/user?format=json",
        questionpro = "/a/api/v2/users/1?apiKey=k",
      }
      for vendor, path in pairs(cases) do
        local res = sandbox.http("PUT", "/_fast/" .. vendor .. path, { body = "{}" })
        assert.are.equal(200, res.status)
        assert.truthy(res.headers["x-request-id"])
        assert.are.equal("table", type(sandbox.decode(res)))
        assert.is_true(#res.body >= 250)
      end
      local login = sandbox.http("POST", "/_fast/blackbaud/api/authentication/login", { body = "{}" })
      assert.are.equal("fast-token", sandbox.decode(login).Token)
      assert.are.equal(0, sandbox.stats().requests)
    end)
  end)
end)
