-- Client life cycle: close, use after close, <close>, collection, tostring.
local userupd = require "userupd"

local function new()
  return userupd.questionpro{ api_key = "LIFECYCLE-KEY" }
end

describe("client", function()
  it("has one constructor per vendor and a generic new", function()
    for name in pairs(userupd.vendors) do
      assert.are.equal("function", type(userupd[name]))
    end
    local c = userupd.new("questionpro", { api_key = "k" })
    assert.are.equal("questionpro", c:vendor())
  end)

  it("closes twice without harm and refuses use after close", function()
    local c = new()
    c:close()
    c:close()
    local ok, msg = pcall(c.prepare, c, 1, {})
    assert.is_false(ok)
    assert.matches("attempt to use a closed client", msg, 1, true)
    assert.matches("closed", tostring(c), 1, true)
  end)

  it("survives a create/drop/collect loop", function()
    for _ = 1, 2000 do
      local c = new()
      c:prepare(1, { firstName = "A" })
    end
    collectgarbage()
    collectgarbage()
    assert.truthy(new():prepare(1, {}))
  end)

  if _VERSION == "Lua 5.4" then
    it("closes as a to-be-closed variable", function()
      local chunk = assert(load([[
        local userupd = ...
        local kept
        do
          local c <close> = userupd.questionpro{ api_key = "k" }
          kept = c
        end
        return pcall(kept.prepare, kept, 1, {})
      ]]))
      local ok, msg = chunk(userupd)
      assert.is_false(ok)
      assert.matches("closed client", msg, 1, true)
    end)
  end

  it("never shows a secret in tostring", function()
    local c = new()
    assert.is_nil(tostring(c):find("LIFECYCLE-KEY", 1, true))
    assert.matches("^userupd.client%(questionpro, https://api.questionpro.com",
                   tostring(c))
    local req = c:prepare(1, {})
    assert.is_nil(tostring(req):find("LIFECYCLE-KEY", 1, true))
    assert.matches("apiKey=***", tostring(req), 1, true)
  end)

  it("encodes the body alone, the same bytes prepare sends", function()
    local c = userupd.thoughtindustries{ subdomain = "a", api_key = "k" }
    local id = "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"
    local f = { email = "a@example.org", first_name = "A", ref3 = "x" }
    assert.are.equal(c:prepare(id, f).body, c:encode(id, f))
    local body, err = c:encode(id, { emial = "x" })
    assert.is_nil(body)
    assert.are.equal("emial", err.field)
  end)

  it("redacts a secret only where it stands as a whole token", function()
    local sm = userupd.smartermeasure{ username = "u", password = "p" }
    local shown = tostring(sm:prepare(1, { FirstName = "Pip" }))
    assert.matches("Accept: application/json", shown, 1, true)
    assert.matches('"FirstName":"Pip"', shown, 1, true)
    assert.matches("Authorization: ***", shown, 1, true)
    local qp = userupd.questionpro{ api_key = "k" }
    local req = qp:prepare(1, { firstName = "k" })
    assert.matches("apiKey=***", tostring(req), 1, true)
    -- a field value equal to the key is hidden too: it is the key
    assert.matches('"firstName":"***"', tostring(req), 1, true)
  end)

  it("describes every vendor's options for tools", function()
    local qp = userupd.vendors.questionpro
    assert.is_true(qp.options.api_key.secret)
    assert.is_true(qp.options.api_key.required)
    assert.are.equal("integer", userupd.vendors.formsonfire.options
                     .company_id.type)
    assert.are.equal("uuid", userupd.vendors.thoughtindustries.id)
    assert.are.equal("number", qp.options.timeout.type)
    assert.is_nil(qp.options.transport)
  end)

  it("exposes null as the same value as cjson.null", function()
    local ok, cjson = pcall(require, "cjson")
    if ok then assert.are.equal(cjson.null, userupd.null) end
    assert.are.equal("userdata", type(userupd.null))
  end)
end)
