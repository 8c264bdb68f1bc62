-- Numbers from Lua that C turns into integers (issue 21 item 17's class):
-- every out-of-range or NaN value must be refused or ignored with a range
-- check first, never cast.  A normal build stores whatever the CPU makes
-- of the cast; tools/asan (clang, -fsanitize=undefined, which includes
-- float-cast-overflow, and no recovery) fails on the cast itself, so each
-- case here is a real run of the value through the code that reads it.
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local ODD = { 1e300, -1e300, 0 / 0, math.huge, -math.huge, 2 ^ 63,
              -2 ^ 63 - 4096, 2 ^ 31, 1.5 }

local function qp()
  return userupd.questionpro{ api_key = "cast-key", base_url = sandbox.url(),
                              rate = 0, retry_base = 0.01,
                              max_retry_wait = 0.05 }
end

local function tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

describe("float-to-integer casts", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("a function source's line number out of range is not kept", function()
    local path = tmpdb()
    local i = 0
    -- every row invalid (a table where a string goes), so each is
    -- journaled with its line for `userupd failures`
    local s = qp():update_many(function()
      i = i + 1
      if ODD[i] then
        return 500 + i, { firstName = {} }, nil, ODD[i]
      end
    end, { journal = path, progress = false })
    assert.are.equal(#ODD, s.invalid)
    local j = assert(userupd.journal(path))
    for _, row in ipairs(j:failures()) do
      -- a line is a whole number from 1 up, or absent
      if row.line ~= nil then
        assert.is_true(row.line >= 1 and row.line < 2 ^ 53,
                       "line " .. tostring(row.line))
        assert.are.equal(math.floor(row.line), row.line)
      end
    end
    j:close()
    os.remove(path)
  end)

  it("the same odd line numbers on rows that are sent", function()
    local path = tmpdb()
    local i = 0
    local s = qp():update_many(function()
      i = i + 1
      if ODD[i] then return 600 + i, { firstName = "C" .. i }, nil, ODD[i] end
    end, { journal = path, progress = false })
    assert.are.equal(#ODD, s.ok)
    os.remove(path)
  end)

  it("a huge total with the bar drawn neither breaks nor overflows", function()
    -- the bar's ETA is (total - done) / rate: with total 2^53 and a slow
    -- start it is far beyond an int
    local s = qp():update_many({ { 700, { firstName = "T" } },
                                 { 701, { firstName = "T" } } },
                               { total = 2 ^ 53, progress = true })
    assert.are.equal(2, s.ok)
    local ok, err = pcall(qp().update_many, qp(), {}, { total = 2 ^ 62 })
    assert.is_false(ok)
    assert.matches("total", tostring(err), 1, true)
  end)

  it("odd counts in update_many options are refused or clamped", function()
    for _, v in ipairs(ODD) do
      for _, k in ipairs{ "concurrency", "total", "max_failures",
                          "max_rate_limited" } do
        local c = qp()
        local ok, err = pcall(c.update_many, c, {}, { [k] = v,
                                                      progress = false })
        if not ok then
          assert.is_truthy(tostring(err):find(k, 1, true),
                           k .. " = " .. tostring(v) .. ": " .. tostring(err))
        end
      end
    end
  end)
end)
