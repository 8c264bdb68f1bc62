-- One key sort (src/json/json_write.c uu_json_sorted_keys) serves the
-- Metadata key/value list, extra members and tostring(request)'s headers:
-- bytewise order, and no call into Lua, so a replaced table.sort (user
-- code, a sandbox) can neither run inside a call nor change the bytes.
local userupd = require "userupd"

local GUID = "2ebc64a36a0d400d0123456789abcdef"

describe("key sort", function()
  local ff = userupd.formsonfire{ company_id = 12345,
                                  integration_key = "k-000000000000" }
  local saved

  before_each(function()
    saved = table.sort
    -- the spec replaces a standard function on purpose
    -- luacheck: push ignore 122
    table.sort = function() error("table.sort called") end
    -- luacheck: pop
  end)
  after_each(function() table.sort = saved end) -- luacheck: ignore 122

  it("writes a Metadata map's keys bytewise, without table.sort", function()
    local req = assert(ff:prepare(GUID, { Metadata = { b = "1", B = "2",
                                                       _ = "3", a = "4" } }))
    assert.matches('"Metadata":%[{"Key":"B","Value":"2"},{"Key":"_",' ..
                   '"Value":"3"},{"Key":"a","Value":"4"},{"Key":"b",' ..
                   '"Value":"1"}%]', req.body)
  end)

  it("writes extra members bytewise, without table.sort", function()
    local req = assert(ff:prepare(GUID, { FirstName = "Ann" },
                                  { extra = { zeta = 1, Alpha = 2, beta = 3 } }))
    assert.matches('"Alpha":2,"beta":3,"zeta":1', req.body)
  end)

  it("lists a request's headers sorted, without table.sort", function()
    local req = assert(ff:prepare(GUID, { FirstName = "Ann" }))
    local text = tostring(req)
    local a = text:find("\nAccept: ", 1, true)
    local ct = text:find("\nContent-Type: ", 1, true)
    local ua = text:find("\nUser-Agent: ", 1, true)
    assert.is_truthy(a and ct and ua)
    assert.is_true(a < ct and ct < ua)
  end)

  it("still refuses a key that is no string", function()
    local _, err = ff:prepare(GUID, { FirstName = "Ann" },
                              { extra = { [1] = "x", y = 2 } })
    assert.are.equal("extra", err.field)
    assert.matches("member names must be strings", err.message)
  end)
end)
