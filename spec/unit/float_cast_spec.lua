-- Every place a number from Lua becomes a C integer (issue 21 item 17):
-- 1e300, -1e300, NaN, infinities and fractions are refused with a clear
-- error or read as "not given", never cast.  Converting such a double to
-- an integer type is undefined behaviour; tools/asan (clang's undefined
-- group, float-cast-overflow included) runs this file and reports any
-- cast that slips through, and a normal build would store garbage.
local userupd = require "userupd"

local BAD = { 1e300, -1e300, 0 / 0, math.huge, -math.huge }
local function show(v) return v ~= v and "NaN" or tostring(v) end

local function qp(t)
  t = t or {}
  t.api_key = "fc-key"
  t.base_url = t.base_url or "http://127.0.0.1:1"
  t.rate = t.rate or 0
  t.retries = 0
  return userupd.questionpro(t)
end

local function tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

-- One invalid record from a function source with the given line value;
-- the journal row's line.
local function journaled_line(line)
  local c, path, done = qp(), tmpdb(), false
  local s = c:update_many(function()
    if done then return nil end
    done = true
    return 5, { firstName = 12 }, nil, line     -- invalid: nothing is sent
  end, { journal = path, progress = false })
  assert.are.equal(1, s.invalid)
  local j = assert(userupd.journal(path, "questionpro"))
  local row = j:get(5)
  j:close()
  os.remove(path)
  return row.line
end

describe("numbers from Lua never reach an unchecked cast", function()
  for _, v in ipairs(BAD) do
    it("update_many source line " .. show(v) .. " is no line", function()
      assert.is_nil(journaled_line(v))
    end)
  end

  it("update_many source lines: whole numbers kept, fractions not", function()
    assert.are.equal(7, journaled_line(7))
    assert.is_nil(journaled_line(2.5))             -- not silently 2
  end)

  for _, k in ipairs{ "concurrency", "total", "max_failures",
                      "max_auth_failures", "max_rate_limited" } do
    local values = { 1e300, -1e300, 0 / 0, math.huge, 2.5 }
    if k == "concurrency" then values[#values + 1] = 2 ^ 32 + 4 end
    for _, v in ipairs(values) do
      it(("update_many %s = %s is refused, naming it"):format(k, show(v)),
         function()
        local ok, err = pcall(qp().update_many, qp(), {}, { [k] = v })
        assert.is_false(ok)
        assert.matches(k, tostring(err), 1, true)
      end)
    end
  end

  for _, v in ipairs(BAD) do
    it("a transport's status " .. show(v) .. " is a clear error", function()
      local c = userupd.questionpro{ api_key = "k", retries = 0,
        transport = function() return v, "{}", {} end }
      local ok, err = pcall(c.update, c, 1, { firstName = "A" })
      assert.is_false(ok)
      assert.matches("status must be a whole number from 100 to 599",
                     tostring(err), 1, true)
    end)

    it("a budget store's spend count " .. show(v) .. " is a store error",
       function()
      local c = qp{ daily_quota = 10, shared_budget = {
        take = function() return 0 end,
        spend = function() return v, true end } }
      local ok, err = pcall(c.update, c, 1, { firstName = "A" })
      assert.is_false(ok)
      assert.matches("spend", tostring(err), 1, true)
      assert.matches("not a whole number", tostring(err), 1, true)
    end)

    it("userupd.isatty(" .. show(v) .. ") is out of range", function()
      local ok, err = pcall(userupd.isatty, v)
      assert.is_false(ok)
      assert.matches("out of range", tostring(err), 1, true)
    end)

    it("a journal record's line " .. show(v) .. " is refused", function()
      local path = tmpdb()
      local ok, err = pcall(userupd._journal_record, path, "questionpro",
                            { id = 1, state = "ok", line = v })
      assert.is_false(ok)
      assert.matches("line", tostring(err), 1, true)
      os.remove(path)
    end)
  end

  for _, v in ipairs(BAD) do
    it("the CSV scanner's key count " .. show(v) .. " is refused", function()
      local ok, err = pcall(userupd._csv_next, "a,b\n", 1, true, ",", false,
                            { "x", "y" }, v)
      assert.is_false(ok)
      assert.matches("whole number", tostring(err), 1, true)
    end)

    it("a failures-history row's line " .. show(v) .. " is refused",
       function()
      local path = tmpdb()
      assert(userupd._journal_record(path, "questionpro",
                                     { id = 1, state = "ok" }))
      local j = assert(userupd.journal(path, "questionpro"))
      local ok, err = pcall(j.record_run, j, { started = 1, finished = 2,
        refused = { { line = v, id = "1", kind = "invalid", reason = "r" } } })
      j:close()
      os.remove(path)
      assert.is_false(ok)
      assert.matches("line must be a whole number", tostring(err), 1, true)
    end)
  end

  for _, v in ipairs{ 0 / 0, -1e300, -math.huge } do
    it("poll(" .. show(v) .. ") does not wait", function()
      local c = qp{ rate = 1 / 60, burst = 1 }  -- the second waits 60 s
      c:submit(1, { firstName = "A" }, function() end)
      local h = c:submit(2, { firstName = "B" }, function() end)
      local t0 = os.time()
      userupd.poll(v)
      assert.is_true(os.time() - t0 < 20)
      assert.are.equal("waiting", h:status())
      c:close()
    end)
  end

  it("a progress bar with an enormous total draws no garbage ETA",
     function()
    local c = qp()
    local s = c:update_many({ { 1, { firstName = 12 } } },
                            { progress = true, total = 2 ^ 53 })
    assert.are.equal(1, s.invalid)
  end)
end)
