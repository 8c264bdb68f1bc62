-- Forms On Fire: PUT /api/v2/user?format=json, credentials in the body,
-- seed 003.
-- What every vendor shares is tested from its descriptor in
-- spec/unit/vendors_spec.lua; this file keeps what is this vendor's own.
local userupd = require "userupd"
local util = require "support.util"

-- The seed masks its values with X; these stand in for them.
local GUID = "2ebc64a36a0d400d0123456789abcdef"
local KEY = "78eec3032af240f000000000"

local function seed_text()
  return (util.fixture("seeds/formsonfire.json")
    :gsub("2ebc64a36a0d400dXXXXXXXX", GUID)
    :gsub("XXXXX,", "12345,")
    :gsub("78eec3032af240fXXXXXXXXX", KEY))
end

describe("formsonfire", function()
  local ff = userupd.formsonfire{ company_id = 12345, integration_key = KEY }

  it("reproduces the seed's example request byte for byte", function()
    local seed = seed_text()
    local fields = userupd.json_decode(seed)
    fields.Id, fields.CompanyId, fields.IntegrationKey = nil, nil, nil
    local req = assert(ff:prepare(GUID, fields))
    assert.are.equal(util.minify(seed), req.body)
    assert.is_true(util.same(userupd.json_decode(seed),
                             userupd.json_decode(req.body)))
  end)

  it("sends the id in the body, not the URL", function()
    local req = ff:prepare(GUID, {})
    assert.are.equal("https://secure.formsonfire.com/api/v2/user?format=json",
                     req.url)
    assert.are.equal('{"Id":"' .. GUID .. '","CompanyId":12345,' ..
                     '"IntegrationKey":"' .. KEY .. '"}', req.body)
  end)

  it("turns a Lua map into the Metadata key/value list, sorted", function()
    local req = ff:prepare(GUID, { Metadata = { grade = "9", campus = "N" } })
    assert.matches('"Metadata":[{"Key":"campus","Value":"N"},' ..
                   '{"Key":"grade","Value":"9"}]', req.body, 1, true)
    assert.matches('"Metadata":[]', ff:prepare(GUID, { Metadata = {} }).body,
                   1, true)
    local _, err = ff:prepare(GUID, { Metadata = { grade = 9 } })
    assert.are.equal("Metadata.grade", err.field)
  end)

  it("takes Metadata as a list of { Key [, Value] } too, kept as given",
     function()
    local req = ff:prepare(GUID, { Metadata = { { Key = "NameEUI" },
      { Key = "grade", Value = "9" }, { Key = "b" } } })
    assert.matches('"Metadata":[{"Key":"NameEUI"},{"Key":"grade",' ..
                   '"Value":"9"},{"Key":"b"}]', req.body, 1, true)
    local cases = {
      { { { Value = "9" } }, "Metadata[1]", "Key must be a string" },
      { { { Key = 5 } }, "Metadata[1]", "Key must be a string" },
      { { { Key = "a" }, { Key = "b", Other = 1 } }, "Metadata[2]",
        "only Key and Value" },
      { { { Key = "a", Value = 9 } }, "Metadata[1]", "expected string" },
      { { "NameEUI" }, "Metadata[1]", "a table { Key" },
      { { { Key = "a" }, x = "y" }, "Metadata", "keys must be strings" },
    }
    for _, c in ipairs(cases) do
      local r, err = ff:prepare(GUID, { Metadata = c[1] })
      assert.is_nil(r)
      assert.are.equal("invalid", err.kind)
      assert.are.equal(c[2], err.field)
      assert.matches(c[3], err.message, 1, true)
    end
  end)

  it("checks Type, GUIDs with or without dashes, and white-label hosts",
     function()
    local _, err = ff:prepare(GUID, { Type = "Gold" })
    assert.are.equal("Type", err.field)
    assert.truthy(ff:prepare("2ebc64a3-6a0d-400d-0123-456789abcdef", {}))
    _, err = ff:prepare("2ebc64a36a0d400d", {})
    assert.are.equal("id", err.field)
    local ef = userupd.formsonfire{ company_id = 1, integration_key = "k",
                                    host = "eforms.mobileform.net" }
    assert.are.equal("https://eforms.mobileform.net/api/v2/user?format=json",
                     ef:prepare(GUID, {}).url)
  end)
end)
