-- QuestionPro: PUT /a/api/v2/users/{id}?apiKey=..., seed 004.
-- What every vendor shares is tested from its descriptor in
-- spec/unit/vendors_spec.lua; this file keeps what is this vendor's own.
local userupd = require "userupd"

describe("questionpro", function()
  local qp = userupd.questionpro{ api_key = "qp-key-1" }

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
end)
