-- A float that stands for an integer past 2^53 is already a rounding of
-- what was written (issue 21 item 7): a JSON Lines 9007199254740993.0 is
-- read as 9007199254740992, another user's id.  Ids and integer fields
-- given as floats are refused unless whole and below 2^53 in size, on
-- every Lua; integers and strings of digits go out exactly.
local userupd = require "userupd"

local function qp() return userupd.questionpro{ api_key = "k" } end

-- Floats as a JSON Lines file gives them (decoded by userupd.json_decode),
-- and as Lua writes them.
local function jfloat(text) return userupd.json_decode(text) end

local refused = {
  { "9007199254740993.0 (JSON)", function() return jfloat("9007199254740993.0") end },
  { "9007199254740992.0 (JSON, 2^53)", function() return jfloat("9007199254740992.0") end },
  { "1.00000000000000001E+16 (JSON)", function() return jfloat("1.00000000000000001E+16") end },
  { "2^60 as a float", function() return 2.0 ^ 60 end },
  { "1e300", function() return 1e300 end },
  { "-2^53 as a float", function() return -(2.0 ^ 53) end },
}

describe("float ids and integer fields past 2^53", function()
  for _, case in ipairs(refused) do
    it("refuses the id " .. case[1], function()
      local body, err = qp():encode(case[2](), { firstName = "A" })
      assert.is_nil(body)
      assert.are.equal("invalid", err.kind)
      assert.are.equal("id", err.field)
      assert.matches("float beyond 2^53", err.message, 1, true)
    end)

    it("refuses departmentID " .. case[1], function()
      local body, err = qp():encode(1, { departmentID = case[2]() })
      assert.is_nil(body)
      assert.are.equal("departmentID", err.field)
      assert.matches("float beyond 2^53", err.message, 1, true)
    end)
  end

  it("refuses it in update_many too, sending nothing", function()
    local s = qp():update_many({ { jfloat("9007199254740993.0"), {} } },
                               { progress = false })
    assert.are.equal(1, s.invalid)
    assert.are.equal(0, s.ok + s.failed)
  end)

  it("sends a whole float below 2^53 and integers and digit strings exactly",
     function()
    local c = qp()
    local req = assert(c:prepare(2.0 ^ 53 - 1, {}))
    assert.matches("/users/9007199254740991?", req.url, 1, true)
    req = assert(c:prepare("9007199254740993", {}))
    assert.matches("/users/9007199254740993?", req.url, 1, true)
    if math.type then                              -- 5.3+: exact integers
      req = assert(c:prepare(jfloat("9007199254740993"), {}))
      assert.matches("/users/9007199254740993?", req.url, 1, true)
    end
    assert.matches('"departmentID":42', assert(c:encode(1, { departmentID = 42.0 })),
                   1, true)
  end)
end)
