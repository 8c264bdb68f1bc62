-- Where the seeds are silent (issue 16): every seed's example request sent
-- verbatim to the sandbox, the null policy, Salesforce ids, Forms On Fire
-- Metadata, `extra` members and SmarterMeasure's any[] answers, each
-- through the real client and the real sandbox.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

local TI_ID = "3f2b6c1e-8a4d-4f0b-9c2e-5d7a1b3c9e01"
local FF_ID = "2ebc64a36a0d400d0123456789abcdef"
local JSON = { ["Content-Type"] = "application/json" }

local function clients(extra_opts)
  local base = { base_url = sandbox.url(), rate = 0 }
  local function o(t)
    for k, v in pairs(base) do t[k] = v end
    for k, v in pairs(extra_opts or {}) do t[k] = v end
    return t
  end
  return {
    smartermeasure = { userupd.smartermeasure(o{ username = "u", password = "p" }), 10000001,
                       "AgeRange" },
    thoughtindustries = { userupd.thoughtindustries(o{ api_key = "k" }), TI_ID, "ref3" },
    formsonfire = { userupd.formsonfire(o{ company_id = 12345, integration_key = "k" }), FF_ID,
                    "ColorCode" },
    questionpro = { userupd.questionpro(o{ api_key = "k" }), 1234599, "lastName" },
  }
end

local function requests() return sandbox.stats().requests end

describe("seed fidelity", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  describe("each seed's example request, sent verbatim to the sandbox", function()
    local function put(path, fixture, opts)
      local body = util.fixture("seeds/" .. fixture)
      opts = opts or {}
      opts.body, opts.headers = body, opts.headers or JSON
      local res = sandbox.http("PUT", path, opts)
      assert.are.equal(200, res.status, fixture .. ": " .. res.body)
      return sandbox.decode(res), body
    end

    it("SmarterMeasure (seed 000)", function()
      local u = put("/v3/users/10000001", "smartermeasure.json", { user = "key:secret" })
      assert.are.equal("<string>", u.InternalId)
    end)

    it("Thought Industries (seed 001): the 4-field example, nine Required lists absent", function()
      local u, body = put("/incoming/v2/users/" .. TI_ID, "thoughtindustries.json",
        { headers = { ["Content-Type"] = "application/json", Authorization = "Bearer k" } })
      assert.is_nil(body:find("courseIds", 1, true))        -- truly the 4-field example
      assert.are.equal("string", u.data.APIUpdateUser.externalCustomerId)
      -- the client still sends [] for every absent Required list (our choice)
      local ti = userupd.thoughtindustries{ api_key = "k", base_url = sandbox.url(), rate = 0 }
      local req = assert(ti:prepare(TI_ID, userupd.json_decode(body)))
      local lists = select(2, req.body:gsub(":%[%]", ""))
      assert.are.equal(11, lists)
      local user, err = ti:update(TI_ID, userupd.json_decode(body))
      assert.is_nil(err, tostring(err))
      assert.are.equal("string", user.email)
    end)

    it("Blackbaud (seed 002): the JSON body and the curl example", function()
      local u = put("/api/user/1574489?t=static-token&format=json", "blackbaud.json")
      assert.are.equal("Smith", u.MaidenName)
      u = put("/api/user/1574489?t=static-token&format=json", "blackbaud_curl.json")
      assert.are.equal("Smith", u.MaidenName)
    end)

    it("Forms On Fire (seed 003), its masked X runs filled in", function()
      -- The seed is not JSON as printed (CompanyId: XXXXX) and its Id is
      -- masked to 24 characters; only the X runs change, nothing else.
      local body = util.fixture("seeds/formsonfire.json")
        :gsub("2ebc64a36a0d400dXXXXXXXX", FF_ID):gsub("XXXXX,", "12345,")
        :gsub("78eec3032af240fXXXXXXXXX", "78eec3032af240f000000000")
      local res = sandbox.http("PUT", "/api/v2/user?format=json", { body = body, headers = JSON })
      assert.are.equal(200, res.status, res.body)
      assert.are.equal("Standard", sandbox.decode(res).User.Type)
    end)

    it("QuestionPro (seed 004): the payload and the PHP example (with password)", function()
      local u = put("/a/api/v2/users/1234599?apiKey=k", "questionpro.json")
      assert.are.equal("newfirstname", u.response.firstName)
      u = put("/a/api/v2/users/1234599?apiKey=k", "questionpro_php.json")
      assert.are.equal("updatedsubuser@emaildomain.com", u.response.emailAddress)
    end)
  end)

  describe("clearing a field follows the seed", function()
    it("is refused as invalid where no seed documents it, and nothing is sent", function()
      local before = requests()
      for vendor, c in pairs(clients()) do
        local user, err = c[1]:update(c[2], { [c[3]] = userupd.null })
        assert.is_nil(user)
        assert.are.equal("invalid", err.kind, vendor)
        assert.are.equal(c[3], err.field, vendor)
        assert.matches(vendor .. " documents no way to clear a field", err.message, 1, true)
        assert.matches("send_null = true", err.message, 1, true)
      end
      assert.are.equal(before, requests())     -- not one request reached the sandbox
    end)

    it("goes as JSON null with send_null = true, and the sandbox takes it", function()
      for vendor, c in pairs(clients({ send_null = true })) do
        local user, err = c[1]:update(c[2], { [c[3]] = userupd.null })
        assert.is_nil(err, vendor .. ": " .. tostring(err))
        assert.truthy(user, vendor)
        local last = sandbox.last(vendor)
        assert.matches('"' .. c[3] .. '":null', last.body, 1, true)
        assert.are.equal("true", last.headers["x-userupd-send-null"])
      end
      local ok, msg = pcall(userupd.questionpro, { api_key = "k", send_null = "yes" })
      assert.is_false(ok)
      assert.matches("option 'send_null' must be a boolean", msg, 1, true)
    end)

    it("uses FieldsToNull for Blackbaud, with or without send_null", function()
      for _, sn in ipairs({ false, true }) do
        local bb = userupd.blackbaud{ token = "t", base_url = sandbox.url(), send_null = sn }
        assert.is_nil((select(2, bb:update(7, { MiddleName = "Q" }))))
        local user, err = bb:update(7, { MiddleName = userupd.null })
        assert.is_nil(err, tostring(err))
        assert.are.equal(userupd.null, user.MiddleName)
        assert.are.equal('{"FieldsToNull":["MiddleName"]}', sandbox.last("blackbaud").body)
      end
    end)

    it("the sandbox refuses a raw null from a client that did not opt in", function()
      local res = sandbox.http("PUT", "/api/user/7?t=t&format=json",
                               { body = '{"MiddleName":null}', headers = JSON })
      assert.are.equal(400, res.status)
      assert.matches("MiddleName", sandbox.decode(res).Error, 1, true)
    end)
  end)

  describe("Thought Industries Salesforce ids", function()
    it("go through the client and are accepted by the sandbox", function()
      local ti = userupd.thoughtindustries{ api_key = "k", base_url = sandbox.url(), rate = 0 }
      for _, id in ipairs({ "0031U00001abcdeQAA", "0031U00001abcde", TI_ID }) do
        local user, err = ti:update(TI_ID, { sfContactId = id, sfAccountId = id })
        assert.is_nil(err, tostring(err))
        assert.are.equal(id, user.sfContactId)
        assert.are.equal(id, user.sfAccountId)
      end
      local res = sandbox.http("PUT", "/incoming/v2/users/" .. TI_ID, { body = '{"sfContactId":"0031U00001"}',
        headers = { ["Content-Type"] = "application/json", Authorization = "Bearer k" } })
      assert.are.equal(400, res.status)
      assert.matches("sfContactId", sandbox.decode(res).message, 1, true)
    end)
  end)

  describe("Forms On Fire Metadata", function()
    it("a Key-only item, as the seed shows it, reaches the sandbox as given", function()
      local ff = userupd.formsonfire{ company_id = 12345, integration_key = "k",
                                      base_url = sandbox.url() }
      local user, err = ff:update(FF_ID, { Metadata = { { Key = "NameEUI" },
                                                        { Key = "grade", Value = "9" } } })
      assert.is_nil(err, tostring(err))
      assert.are.equal("NameEUI", user.Metadata[1].Key)
      assert.is_nil(user.Metadata[1].Value)
      assert.are.equal("9", user.Metadata[2].Value)
      assert.matches('"Metadata":[{"Key":"NameEUI"},{"Key":"grade","Value":"9"}]',
                     sandbox.last("formsonfire").body, 1, true)
    end)
  end)

  describe("extra members (fields the descriptor lacks)", function()
    local bb = userupd.blackbaud{ school = "acme", token = "tok-abc" }
    local ff = userupd.formsonfire{ company_id = 12345, integration_key = "ff-key" }

    it("are written after the documented fields, names sorted, before credentials", function()
      local req = assert(bb:prepare(7, { FirstName = "A", MiddleName = userupd.null },
        { extra = { IsDeceased = true, DeceasedDate = "2020-01-02", Z = { a = { 1, 2.5 } } } }))
      assert.are.equal('{"FirstName":"A","FieldsToNull":["MiddleName"],'
        .. '"DeceasedDate":"2020-01-02","IsDeceased":true,"Z":{"a":[1,2.5]}}', req.body)
      assert.are.same({ "DeceasedDate", "IsDeceased", "Z" }, req.extra)
      assert.are.equal('{"Id":"' .. FF_ID .. '","FirstName":"A","NewThing":1,'
        .. '"CompanyId":12345,"IntegrationKey":"ff-key"}',
        ff:encode(FF_ID, { FirstName = "A" }, { extra = { NewThing = 1 } }))
      assert.are.equal(bb:encode(7, { FirstName = "A" }), bb:encode(7, { FirstName = "A" }, {}))
      assert.is_nil(bb:prepare(7, {}).extra)
    end)

    it("are marked as extra in tostring(request)", function()
      local req = assert(bb:prepare(7, {}, { extra = { IsLost = false, ScreenName = "x" } }))
      local shown = tostring(req)
      assert.matches("extra, not in the vendor's documentation: IsLost, ScreenName", shown, 1, true)
      assert.is_nil(shown:find("tok-abc", 1, true))
      assert.is_nil(tostring(bb:prepare(7, {})):find("extra", 1, true))
    end)

    it("are checked as JSON, and never take a name the descriptor has", function()
      local cyc = {}
      cyc.self = cyc
      local cases = {
        { bb, { FirstName = "x" }, "extra.FirstName", "documented field" },
        { bb, { first_name = "x" }, "extra.first_name", "documented field" },
        { bb, { FieldsToNull = { "x" } }, "extra.FieldsToNull", "documented field" },
        { ff, { Id = "x" }, "extra.Id", "written by userupd itself" },
        { ff, { IntegrationKey = "x" }, "extra.IntegrationKey", "written by userupd itself" },
        { bb, { X = 0 / 0 }, "extra.X", "NaN" },
        { bb, { X = { 1, math.huge } }, "extra.X[2]", "NaN" },
        { bb, { X = cyc }, "extra.X.self", "contains itself" },
        { bb, { X = "\255" }, "extra.X", "UTF-8" },
        { bb, { ["\255"] = 1 }, "extra.?", "UTF-8" },
        { bb, { [""] = 1 }, "extra", "must not be empty" },
        { bb, { X = print }, "extra.X", "extra.X: " },
        { bb, { 1, 2 }, "extra", "names must be strings" },
        { bb, "x", "extra", "expected a table" },
        { bb, { X = userupd.null }, "extra.X", "through FieldsToNull" },
        { ff, { X = userupd.null }, "extra.X", "documents no way to clear a field" },
      }
      for i, c in ipairs(cases) do
        local req, err = c[1]:prepare(c[1] == ff and FF_ID or 7, {}, { extra = c[2] })
        assert.is_nil(req, i)
        assert.are.equal("invalid", err.kind, i)
        assert.are.equal(c[3], err.field, i .. ": " .. err.message)
        assert.matches(c[4], err.message, 1, true)
      end
      local opted = userupd.formsonfire{ company_id = 1, integration_key = "k", send_null = true }
      assert.matches('"X":null', opted:encode(FF_ID, {}, { extra = { X = userupd.null } }), 1, true)
    end)

    it("reach the vendor through update: Blackbaud's IsDeceased is stored", function()
      local c = userupd.blackbaud{ token = "t", base_url = sandbox.url() }
      local user, err = c:update(1574489, { FirstName = "Ann" },
                                 { extra = { IsDeceased = true, DeceasedDate = "2020-01-02" } })
      assert.is_nil(err, tostring(err))
      assert.are.equal("Ann", user.FirstName)
      local held = sandbox.user("blackbaud", 1574489)
      assert.is_true(held.IsDeceased)
      assert.are.equal("2020-01-02", held.DeceasedDate)
      -- a member the sandbox does not know is sent, and the vendor's refusal comes back
      user, err = c:update(1574489, {}, { extra = { Unheard = "x" } })
      assert.is_nil(user)
      assert.are.equal("rejected", err.kind)
      assert.matches("Unheard", err.message, 1, true)
      -- invalid extra: nothing sent
      local before = requests()
      user, err = c:update(1574489, {}, { extra = { Unheard = 0 / 0 } })
      assert.is_nil(user)
      assert.are.equal("invalid", err.kind)
      assert.are.equal(before, requests())
    end)

    it("go with submit (opts before the callback) and update_many records", function()
      local c = userupd.blackbaud{ token = "t", base_url = sandbox.url() }
      local got
      c:submit(11, { FirstName = "S" }, { extra = { IsLost = true } },
               function(user, err) got = { user = user, err = err } end)
      local t0 = os.time()
      while userupd.pending() > 0 and os.time() - t0 < 10 do userupd.poll(0.05) end
      assert.is_nil(got.err, tostring(got.err))
      assert.is_true(sandbox.user("blackbaud", 11).IsLost)
      c:submit(12, { FirstName = "T" }, function(_, err) got = { err = err } end)
      while userupd.pending() > 0 and os.time() - t0 < 10 do userupd.poll(0.05) end
      assert.is_nil(got.err)
      local summary = c:update_many({
        { 21, { FirstName = "A" }, extra = { IsAbroad = true } },
        { id = 22, fields = { FirstName = "B" }, extra = { ScreenName = "bee" } },
        { 23, { FirstName = "C" } },
        { 24, {}, extra = { FirstName = "dup" } },
      }, { concurrency = 2 })
      assert.are.equal(3, summary.ok)
      assert.are.equal(1, summary.invalid)
      assert.is_true(sandbox.user("blackbaud", 21).IsAbroad)
      assert.are.equal("bee", sandbox.user("blackbaud", 22).ScreenName)
      local rows = { { 31, { FirstName = "I" }, { IsLost = true } } }
      local i = 0
      summary = c:update_many(function()
        i = i + 1
        local r = rows[i]
        if r then return r[1], r[2], r[3] end
      end)
      assert.are.equal(1, summary.ok)
      assert.is_true(sandbox.user("blackbaud", 31).IsLost)
    end)

    it("go through a Lua transport too", function()
      local sent
      local c = userupd.smartermeasure{ username = "u", password = "p", base_url = sandbox.url(),
        transport = function(req)
          sent = req.body
          return 200, '{"UserId":"5","FirstName":"A"}', {}
        end }
      local user, err = c:update(5, { FirstName = "A" }, { extra = { Gender2 = "x" } })
      assert.is_nil(err, tostring(err))
      assert.are.equal("A", user.FirstName)
      assert.are.equal('{"FirstName":"A","Gender2":"x"}', sent)
    end)

    it("come from the CLI map's third value, marked extra in --dry-run", function()
      local input, map = os.tmpname(), os.tmpname()
      local fh = assert(io.open(input, "wb"))
      fh:write("id,first,deceased\n7,Ann,yes\n8,Bo,\n")
      fh:close()
      fh = assert(io.open(map, "wb"))
      fh:write("return function(row) return row.id, { FirstName = row.first },"
               .. " row.deceased == 'yes' and { IsDeceased = true } or nil end\n")
      fh:close()
      local function dry(flags)
        local p = io.popen(("LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./?.so;;' "
          .. "USERUPD_BLACKBAUD_TOKEN=t lua5.4 bin/userupd apply blackbaud --input %s "
          .. "--format csv --map %s --base-url %s --dry-run %s 2>&1; echo rc=$?")
          :format(input, map, sandbox.url(), flags))
        local out = p:read("*a")
        p:close()
        return out
      end
      local plain, shown = dry(""), dry("--show-requests")
      os.remove(input)
      os.remove(map)
      assert.matches("rc=0", plain, 1, true)
      assert.matches("line 2, id 7: extra, not in the vendor's documentation: IsDeceased",
                     plain, 1, true)
      assert.is_nil(plain:find("id 8: extra", 1, true))
      assert.matches("rc=0", shown, 1, true)
      assert.matches('{"FirstName":"Ann","IsDeceased":true}', shown, 1, true)
      assert.matches("extra, not in the vendor's documentation: IsDeceased", shown, 1, true)
      local _, n = shown:gsub("extra, not in", "")
      assert.are.equal(1, n)
      assert.are.equal(0, sandbox.stats().requests)              -- a dry run sends nothing
    end)
  end)

  describe("SmarterMeasure's any[] answers", function()
    local function sm()
      return userupd.smartermeasure{ username = "u", password = "p", base_url = sandbox.url(),
                                     rate = 0 }
    end

    it("verify takes a scalar sent and a one-element array answered as equal", function()
      local c = sm()
      local fields = { Gender = "F", AgeRange = "18-24", HowManyCoursesTaken = "3", FirstName = "A" }
      local user, err, info = c:update(10000001, fields, { verify = true })
      assert.is_nil(err, tostring(err))
      assert.are.equal("F", user.Gender)                      -- the update's answer: a string
      local held = assert(c:get(10000001))
      assert.are.same({ "F" }, held.Gender)                   -- the read's: a one-element array
      assert.are.same({ "18-24" }, held.AgeRange)
      assert.are.same({ "3" }, held.HowManyCourses)
      assert.is_true(info.verified)
      assert.are.same({}, info.unapplied)
    end)

    it("still reports a field the vendor ignored, array or not", function()
      local c = sm()
      c:update(10000002, { AgeRange = "25-34", Gender = "M" })
      sandbox.fault{ fault = "ignore-field:name=AgeRange", count = 1 }
      local _, err, info = c:update(10000002, { AgeRange = "35-44", Gender = "F" },
                                    { verify = true })
      assert.is_nil(err, tostring(err))
      assert.are.same({ "25-34" }, assert(c:get(10000002)).AgeRange)
      assert.are.same({ "AgeRange" }, info.unapplied)
    end)
  end)

  describe("the CLI and a stray quote in a CSV cell", function()
    local function apply(flags)
      local input, map = os.tmpname(), os.tmpname()
      local fh = assert(io.open(input, "wb"))
      fh:write('id,first,where\n7,Ann,37\194\17636\'37.8"N\n8,Bo,plain\n9,Cy,5\'11"\n')
      fh:close()
      fh = assert(io.open(map, "wb"))
      fh:write("return function(row) return row.id, { FirstName = row.first,"
               .. " LastName = row.where } end\n")
      fh:close()
      local p = io.popen(("LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./?.so;;' "
        .. "USERUPD_BLACKBAUD_TOKEN=t lua5.4 bin/userupd apply blackbaud --input %s "
        .. "--format csv --map %s --base-url %s --no-progress %s 2>&1; echo rc=$?")
        :format(input, map, sandbox.url(), flags))
      local out = p:read("*a")
      p:close()
      os.remove(input)
      os.remove(map)
      return out
    end

    it("sends the quote as text and warns once; --strict-csv refuses those rows", function()
      local out = apply("")
      assert.matches("rc=0", out, 1, true)
      local _, n = out:gsub("had a quote inside an unquoted field", "")
      assert.are.equal(1, n)
      assert.matches("2 rows (the first at line 2)", out, 1, true)
      assert.are.equal('37\194\17636\'37.8"N', sandbox.user("blackbaud", 7).LastName)
      assert.are.equal("5'11\"", sandbox.user("blackbaud", 9).LastName)
      sandbox.reset()
      out = apply("--strict-csv")
      assert.matches("rc=1", out, 1, true)
      assert.matches("line 2", out, 1, true)
      assert.matches("quote in the middle of an unquoted field", out, 1, true)
      assert.is_nil(out:find("had a quote inside", 1, true))
      assert.are.equal("plain", sandbox.user("blackbaud", 8).LastName)
      assert.is_nil(sandbox.user("blackbaud", 7))
    end)
  end)
end)
