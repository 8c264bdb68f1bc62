-- QuestionPro: PUT /a/api/v2/users/{id}?apiKey=..., seed 004.
local userupd = require "userupd"
local util = require "support.util"

describe("questionpro", function()
  local qp = userupd.questionpro{ api_key = "qp-key-1" }

  it("reproduces the seed's example requests byte for byte", function()
    for _, name in ipairs({ "questionpro.json", "questionpro_php.json" }) do
      local seed = util.fixture("seeds/" .. name)
      local fields = userupd.json_decode(seed)
      local req = assert(qp:prepare(1234599, fields))
      assert.are.equal(util.minify(seed), req.body)
      assert.is_true(util.same(fields, userupd.json_decode(req.body)))
    end
  end)

  it("puts the key in the apiKey query by default", function()
    assert.are.equal(
      "https://api.questionpro.com/a/api/v2/users/1234599?apiKey=qp-key-1",
      qp:prepare(1234599, {}).url)
  end)

  it("can send the key as the api-key header, and pick a datacenter",
     function()
    local eu = userupd.questionpro{ api_key = "k", datacenter = "eu",
                                    key_in = "header" }
    local req = eu:prepare(5, {})
    assert.are.equal("https://api.questionpro.eu/a/api/v2/users/5", req.url)
    assert.are.equal("k", req.headers["api-key"])
    assert.has_error(function()
      userupd.questionpro{ api_key = "k", datacenter = "mars" }
    end)
  end)

  it("has no external id field", function()
    local _, err = qp:prepare(5, { external_id = "x" })
    assert.are.equal("external_id", err.field)
    assert.matches("questionpro has no such field", err.message, 1, true)
  end)

  it("redacts the key from URL and tostring", function()
    local req = qp:prepare(5, { password = "p4ss" })
    assert.is_nil(tostring(req):find("qp-key-1", 1, true))
    assert.is_nil(tostring(req):find("p4ss", 1, true))
  end)
end)
