-- Blackbaud ON API: PUT /api/user/{id}?t={token}&format=json, seed 002.
-- What every vendor shares is tested from its descriptor in
-- spec/unit/vendors_spec.lua; this file keeps what is this vendor's own.
local userupd = require "userupd"

describe("blackbaud", function()
  local bb = userupd.blackbaud{ school = "acme", token = "tok-abc" }

  it("puts the token and format=json in the query", function()
    local req = bb:prepare(1574489, { NickName = "" })
    assert.are.equal(
      "https://acme.myschoolapp.com/api/user/1574489?t=tok-abc&format=json",
      req.url)
    assert.is_nil(req.headers.Authorization)
  end)

  it("turns userupd.null into FieldsToNull, merged with an explicit list",
     function()
    local req = bb:prepare(1, { MiddleName = userupd.null,
      FieldsToNull = { "Suffix" }, Prefix = "Dr." })
    assert.are.equal('{"Prefix":"Dr.","FieldsToNull":["Suffix",' ..
                     '"MiddleName"]}', req.body)
  end)

  it("refuses a field both given and cleared, and unknown names to clear",
     function()
    local _, err = bb:prepare(1, { Suffix = "Jr.", FieldsToNull = { "Suffix" } })
    assert.are.equal("Suffix", err.field)
    _, err = bb:prepare(1, { FieldsToNull = { "Nope" } })
    assert.are.equal("FieldsToNull[1]", err.field)
  end)

  it("checks BirthDate and CustomField1..10", function()
    assert.truthy(bb:prepare(1, { BirthDate = "2008-02-29",
                                  CustomField10 = "x" }))
    assert.truthy(bb:prepare(1, { BirthDate = "2008-02-29T10:20:30Z" }))
    for _, d in ipairs({ "2007-02-29", "2008-13-01", "29/02/2008",
                         "2008-02-29T25:00" }) do
      local _, err = bb:prepare(1, { BirthDate = d })
      assert.are.equal("BirthDate", err.field, d)
    end
    local _, err = bb:prepare(1, { CustomField11 = "x" })
    assert.matches("did you mean 'CustomField1", err.message, 1, true)
  end)

  it("needs a token or a username and password, not both", function()
    assert.has_error(function() userupd.blackbaud{ school = "acme" } end)
    assert.has_error(function()
      userupd.blackbaud{ school = "acme", token = "t", username = "u",
                         password = "p" }
    end)
    assert.truthy(userupd.blackbaud{ school = "acme", username = "key",
                                     password = "secret" })
  end)
end)
