-- SmarterMeasure: PUT /v3/users/{userid}, HTTP Basic, seed 000.
-- What every vendor shares is tested from its descriptor in
-- spec/unit/vendors_spec.lua; this file keeps what is this vendor's own.
local userupd = require "userupd"

describe("smartermeasure", function()
  local sm = userupd.smartermeasure{ username = "acct", password = "s3cret" }

  it("puts the id in the path and Basic auth in a header", function()
    local req = assert(sm:prepare(10000001, { FirstName = "Alice" }))
    assert.are.equal("PUT", req.method)
    assert.are.equal("https://api.smartermeasure.com/v3/users/10000001",
                     req.url)
    -- base64("acct:s3cret")
    assert.are.equal("Basic YWNjdDpzM2NyZXQ=", req.headers.Authorization)
    assert.are.equal("application/json", req.headers["Content-Type"])
  end)

  it("maps the cross-vendor names to the seed's names", function()
    local req = assert(sm:prepare(7, { first_name = "A", last_name = "B",
      email = "a@example.org", external_id = "STU-1" }))
    assert.are.equal('{"FirstName":"A","LastName":"B",' ..
      '"Email":"a@example.org","InternalID":"STU-1"}', req.body)
  end)

  it("takes Gender M or F only, and EthnicityID as an integer", function()
    assert.are.equal('{"Gender":"F","EthnicityID":4}',
      sm:prepare(7, { Gender = "F", EthnicityID = 4.0 }).body)
    local _, err = sm:prepare(7, { Gender = "female" })
    assert.are.equal("invalid", err.kind)
    assert.are.equal("Gender", err.field)
    assert.matches("one of M|F", err.message, 1, true)
  end)
end)
