-- SmarterMeasure: PUT /v3/users/{userid}, HTTP Basic, seed 000.
local userupd = require "userupd"
local util = require "support.util"

describe("smartermeasure", function()
  local sm = userupd.smartermeasure{ username = "acct", password = "s3cret" }

  it("reproduces the seed's example request byte for byte", function()
    local seed = util.fixture("seeds/smartermeasure.json")
    local fields = userupd.json_decode(seed)
    local req = assert(sm:prepare(10000001, fields))
    assert.are.equal(util.minify(seed), req.body)
    assert.is_true(util.same(fields, userupd.json_decode(req.body)))
  end)

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

  it("refuses userupd.null: the seed documents no way to clear a field",
     function()
    local req, err = sm:prepare(7, { AgeRange = userupd.null })
    assert.is_nil(req)
    assert.are.equal("invalid", err.kind)
    assert.are.equal("AgeRange", err.field)
    assert.matches("documents no way to clear a field", err.message, 1, true)
    assert.matches("send_null = true", err.message, 1, true)
  end)

  it("sends JSON null, and says so in a header, with send_null = true",
     function()
    local opted = userupd.smartermeasure{ username = "acct",
                                          password = "s3cret",
                                          send_null = true }
    local req = assert(opted:prepare(7, { AgeRange = userupd.null }))
    assert.are.equal('{"AgeRange":null}', req.body)
    assert.are.equal("true", req.headers["X-Userupd-Send-Null"])
    assert.is_nil(sm:prepare(7, {}).headers["X-Userupd-Send-Null"])
  end)
end)
