-- The bad-input catalogue: every row is refused before anything is built,
-- as nil, err with kind "invalid" and the field named.  docs/reference.md's table of
-- bad inputs is this file.
local userupd = require "userupd"

local UUID = "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"
local GUID = "2ebc64a36a0d400d0123456789abcdef"
local clients = {
  sm = userupd.smartermeasure{ username = "u", password = "p" },
  ti = userupd.thoughtindustries{ subdomain = "a", api_key = "k" },
  bb = userupd.blackbaud{ school = "a", token = "t" },
  ff = userupd.formsonfire{ company_id = 1, integration_key = "k" },
  qp = userupd.questionpro{ api_key = "k" },
}

local cycle = {}
cycle.self = cycle
local deep = {}
do
  local t = deep
  for _ = 1, 40 do t.x = {}; t = t.x end
end

-- { name, client, id, fields, field, message pattern (plain) }
local rows = {
  { "unknown field suggests the nearest", "sm", 1, { FristName = "A" },
    "FristName", "did you mean 'FirstName'" },
  { "unknown field, nothing close", "qp", 1, { zzzzzzzz = 1 },
    "zzzzzzzz", "unknown field 'zzzzzzzz'" },
  { "canonical name a vendor lacks", "qp", 1, { external_id = "x" },
    "external_id", "has no such field" },
  { "string where an integer belongs", "qp", 1, { departmentID = "12" },
    "departmentID", "expected integer, got string" },
  { "non-integral number for an integer", "sm", 1, { EthnicityID = 1.5 },
    "EthnicityID", "expected an integer" },
  { "number where a string belongs", "sm", 1, { FirstName = 42 },
    "FirstName", "expected string, got number" },
  { "boolean field given a string", "ti", UUID, { dualRole = "yes" },
    "dualRole", "expected boolean" },
  { "enum outside its set", "ff", GUID, { Type = "Gold" },
    "Type", "not one of Full|Premium|Standard|Lite" },
  { "invalid UTF-8", "sm", 1, { LastName = "M\195\040ller" },
    "LastName", "invalid UTF-8 at byte 2" },
  { "overlong UTF-8", "sm", 1, { LastName = "\192\175" },
    "LastName", "invalid UTF-8" },
  { "NaN", "ti", UUID, { balance = 0 / 0 }, "balance", "NaN" },
  { "infinity", "ti", UUID, { balance = math.huge }, "balance", "infinity" },
  { "NaN inside an object", "ti", UUID, { customFields = { a = 0 / 0 } },
    "customFields.a", "NaN" },
  { "table where a scalar belongs", "sm", 1, { FirstName = { "A" } },
    "FirstName", "expected string, got table" },
  { "a cycle", "ti", UUID, { customFields = cycle },
    "customFields.self", "table contains itself" },
  { "absurd depth (the field names the path where it stopped)", "ti", UUID,
    { customFields = deep }, "customFields.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x"
    .. ".x.x.x.x.x.x.x.x.x.x.x.x.x.x.x", "nested too deeply" },
  { "over-long string", "sm", 1, { FirstName = ("x"):rep(70000) },
    "FirstName", "over the limit" },
  { "canonical and native name together", "sm", 1,
    { first_name = "A", FirstName = "B" }, "FirstName", "given twice" },
  { "a list where an object belongs", "ti", UUID, { customFields = { 1 } },
    "customFields", "got a list" },
  { "a list with holes", "ti", UUID, { courseSlugs = { "a", nil, "c" } },
    "courseSlugs", "keys 1..n" },
  { "non-string field name", "sm", 1, { "A" }, "?", "must be strings" },
  { "an empty field name", "bb", 1, { [""] = "x" }, "", "unknown field ''" },
  { "id ../x", "sm", "../x", {}, "id", "positive integer" },
  { "id 0", "sm", 0, {}, "id", "positive integer" },
  { "id -1", "qp", -1, {}, "id", "positive integer" },
  { "id 1.5", "bb", 1.5, {}, "id", "expected an integer" },
  { "id with a leading zero", "bb", "0123", {}, "id", "positive integer" },
  { "id beyond 2^63-1", "qp", "9223372036854775808", {}, "id",
    "positive integer" },
  { "id a table", "sm", {}, {}, "id", "got table" },
  { "id not a UUID", "ti", "1234", {}, "id", "not a UUID" },
  { "id a UUID as a number", "ti", 1234, {}, "id", "got a number" },
  { "id not a GUID", "ff", "../x", {}, "id", "not a GUID" },
  { "id a GUID with a path", "ff", GUID .. "/x", {}, "id", "not a GUID" },
  { "userupd.null where no seed documents clearing", "qp", 1,
    { firstName = userupd.null }, "firstName",
    "documents no way to clear a field; set send_null = true" },
  { "a Salesforce id of the wrong length", "ti", UUID,
    { sfAccountId = "001D000000IqhSLIA" }, "sfAccountId",
    "neither a UUID nor a Salesforce id" },
  { "the offending string is shown, quoted", "qp", 1,
    { departmentID = "12a" }, "departmentID",
    'departmentID: expected integer, got string "12a"' },
  { "a boolean given a string shows it", "ti", UUID, { dualRole = "yes" },
    "dualRole", 'expected boolean, got string "yes"' },
  { "a long id is cut with an ellipsis, never silently", "ti",
    "1f48dfa2-5b7c-4027-a49a-" .. ("x"):rep(30), {}, "id",
    'id: "1f48dfa2-5b7c-4027-a49a-xxxxxxxxxxxxxxxx..." is not a UUID' },
  { "an id under 40 characters is shown whole", "ti",
    "1f48dfa2-5b7c-4027-a49a-00000000000", {}, "id",
    'id: "1f48dfa2-5b7c-4027-a49a-00000000000" is not a UUID' },
  { "an enum value is quoted", "ff", GUID, { Type = "Gold" },
    "Type", 'Type: "Gold" is not one of' },
  { "a secret field's value is never shown", "qp", 1,
    { password = { "p4ss" } }, "password", "expected string, got table" },
  { "a Metadata item without a Key", "ff", GUID,
    { Metadata = { { Value = "v" } } }, "Metadata[1]", "Key must be a string" },
}

describe("bad input", function()
  for _, row in ipairs(rows) do
    local name, key, id, fields, field, pattern = row[1], row[2], row[3],
      row[4], row[5], row[6]
    it(name .. " (" .. key .. ")", function()
      local req, err = clients[key]:prepare(id, fields)
      assert.is_nil(req)
      assert.are.equal("invalid", err.kind)
      assert.are.equal(field, err.field)
      assert.truthy(err.message:find(pattern, 1, true), err.message)
      assert.truthy(tostring(err):find("^userupd: %a+: invalid: "))
    end)
  end

  it("never echoes a secret field's string value", function()
    local ff = clients.ff
    local _, err = ff:prepare(GUID, { Password = "S3cr3t-value" },
                              { extra = { Password = 1 } })
    assert.is_nil(tostring(err):find("S3cr3t", 1, true), tostring(err))
  end)

  it("update refuses the same rows without sending (attempts = 0)",
     function()
    local c = userupd.smartermeasure{ username = "u", password = "p",
                                      base_url = "http://127.0.0.1:9" }
    local user, err, info = c:update(1, { FristName = "A" })
    assert.is_nil(user)
    assert.are.equal("invalid", err.kind)
    assert.are.equal(0, info.attempts)
  end)

  if math.type then
    it("keeps integers exact up to 2^63-1 on this Lua", function()
      local body = clients.qp:prepare(9223372036854775807,
                                      { departmentID = math.maxinteger }).body
      assert.are.equal('{"departmentID":9223372036854775807}', body)
    end)
  else
    it("refuses integers past 2^53 where Lua has only doubles", function()
      local _, err = clients.qp:prepare(1, { departmentID = 2 ^ 53 + 2 })
      assert.are.equal("departmentID", err.field)
      -- 2^53 itself may be the rounding of 2^53 + 1 (issue 21 item 7)
      _, err = clients.qp:prepare(1, { departmentID = 2 ^ 53 })
      assert.are.equal("departmentID", err.field)
      assert.truthy(clients.qp:prepare(1, { departmentID = 2 ^ 53 - 1 }))
    end)
  end
end)

describe("programmer errors raise", function()
  local sm = clients.sm
  local cases = {
    { "fields not a table", function() sm:prepare(1, "x") end,
      "bad argument #2 to 'prepare' (table expected, got string)" },
    { "no id", function() sm:update() end, "bad argument #1 to 'update'" },
    { "unknown option", function()
        userupd.questionpro{ api_key = "k", timout = 3 } end,
      "option 'timout' is unknown; did you mean 'timeout'?" },
    { "a misspelt credential", function()
        userupd.questionpro{ apikey = "k" } end,
      "option 'apikey' is unknown; did you mean 'api_key'?" },
    { "a misspelt vendor option", function()
        userupd.formsonfire{ company_id = 1, integration_key = "k",
                             hots = "eforms.mobileform.net" } end,
      "option 'hots' is unknown; did you mean 'host'?" },
    { "an option nothing like ours", function()
        userupd.questionpro{ api_key = "k", zzzzzzzz = 1 } end,
      "option 'zzzzzzzz' is unknown)" },
    { "missing credential", function() userupd.questionpro{} end,
      "option 'api_key' is required" },
    { "option of the wrong type", function()
        userupd.questionpro{ api_key = "k", retries = "3" } end,
      "option 'retries' must be an integer" },
    { "plain http to a remote host", function()
        userupd.questionpro{ api_key = "k", base_url = "http://example.org" }
      end, "TLS is required" },
    { "credentials in base_url", function()
        userupd.questionpro{ api_key = "k",
                             base_url = "https://u:p@example.org" } end,
      "must not hold" },
    { "header injection in a key", function()
        userupd.thoughtindustries{ subdomain = "a", api_key = "k\r\nX: 1" }
      end, "control characters" },
    { "a subdomain that is not a label", function()
        userupd.thoughtindustries{ subdomain = "a.evil.com/x", api_key = "k" }
      end, "DNS label" },
    { "unknown vendor", function() userupd.new("nosuch", {}) end,
      "unknown vendor 'nosuch'" },
    { "a NaN timeout", function()
        userupd.questionpro{ api_key = "k", timeout = 0 / 0 } end,
      "option 'timeout' must be from" },
    { "an absurd retry count", function()
        userupd.questionpro{ api_key = "k", retries = 1e300 } end,
      "option 'retries' must be" },
    { "a negative max_response", function()
        userupd.questionpro{ api_key = "k", max_response = -1 } end,
      "option 'max_response' must be from 1" },
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      local ok, msg = pcall(case[2])
      assert.is_false(ok)
      assert.truthy(tostring(msg):find(case[3], 1, true), tostring(msg))
    end)
  end

  it("never quotes a secret option back", function()
    local ok, msg = pcall(userupd.thoughtindustries,
                          { subdomain = "a", api_key = "SECRET\n" })
    assert.is_false(ok)
    assert.is_nil(tostring(msg):find("SECRET", 1, true))
  end)
end)
