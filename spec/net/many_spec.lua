-- update_many against the sandbox: sources, counts, faults, the journal,
-- a raising callback, and kill -9 followed by resume.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"
local clock = require("system").gettime

local function qp(t)
  t = t or {}
  t.api_key = t.api_key or "many-key"
  t.base_url = sandbox.url()
  t.rate = t.rate or 0
  t.retry_base = t.retry_base or 0.01
  t.max_retry_wait = t.max_retry_wait or 0.05
  return userupd.questionpro(t)
end

local function records(n, first)
  local t = {}
  for i = 1, n do t[i] = { (first or 0) + i, { firstName = "N" .. i } } end
  return t
end

local function tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

describe("update_many", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("sends an array of {id, fields} and reports every record", function()
    local seen, users = {}, 0
    local s = qp():update_many(records(300), { concurrency = 8,
      progress = false,
      on_result = function(id, user, err, info)
        assert.is_nil(err)
        assert.are.equal(200, info.status)
        seen[id] = (seen[id] or 0) + 1
        if user.userID == id then users = users + 1 end
      end })
    assert.are.same({ 300, 0, 0, 0 }, { s.ok, s.failed, s.invalid, s.skipped })
    for i = 1, 300 do assert.are.equal(1, seen[i]) end
    assert.are.equal(300, users)
    assert.are.equal("N300", sandbox.user("questionpro", 300).firstName)
  end)

  it("pulls an iterator lazily, with flat memory", function()
    local n, inflight_max, pulled = 0, 0, 0
    local done = 0
    local function source()
      n = n + 1
      pulled = pulled + 1
      if pulled - done > inflight_max then inflight_max = pulled - done end
      if n <= 5000 then return n, { firstName = "It" } end
    end
    collectgarbage()
    local before = collectgarbage("count")
    local s = qp():update_many(source, { concurrency = 4, progress = false,
      on_result = function() done = done + 1 end })
    assert.are.equal(5000, s.ok)
    -- never more records taken than slots (+1 for the pull that ends it)
    assert.is_true(inflight_max <= 5, "in flight " .. inflight_max)
    collectgarbage()
    assert.is_true(collectgarbage("count") - before < 2048)
  end)

  it("reports invalid records and goes on", function()
    local recs = records(20)
    recs[3] = { 3, { firstName = 3 } }
    recs[5] = { -5, { firstName = "x" } }
    recs[8] = { 8, "not a table" }
    recs[9] = "not a record"
    local kinds = {}
    local s = qp():update_many(recs, { progress = false,
      on_result = function(_, _, err)
        if err then kinds[#kinds + 1] = err.kind .. ":" .. (err.field or "") end
      end })
    assert.are.same({ 16, 0, 4 }, { s.ok, s.failed, s.invalid })
    assert.are.equal(4, s.by_kind.invalid)
    table.sort(kinds)
    assert.are.same({ "invalid:fields", "invalid:firstName", "invalid:id",
                      "invalid:id" }, kinds)
  end)

  it("hands on_result the input line a function source gave", function()
    -- the CLI reads it there instead of keeping a table of lines by id
    local i, got = 0, {}
    local function source()
      i = i + 1
      if i > 6 then return nil end
      if i == 4 then return i, { firstName = 4 }, nil, 40 end   -- invalid
      return i, { firstName = "L" .. i }, nil, i * 10
    end
    local s = qp():update_many(source, { progress = false,
      on_result = function(id, _, _, _, line) got[id] = line end })
    assert.are.same({ 5, 1 }, { s.ok, s.invalid })
    assert.are.same({ 10, 20, 30, 40, 50, 60 }, got)
    qp():update_many(records(2), { progress = false,
      on_result = function(id, _, _, _, line) got[id] = line or "none" end })
    assert.are.same({ "none", "none" }, { got[1], got[2] })
  end)

  it("tells a function source how many of its records were queued",
  function()
    -- the CLI holds an input row only while the library holds its record
    -- (issue 22): the count grows by one after each record queued, and
    -- not after one skipped as unchanged or refused
    local path = tmpdb()
    qp():update_many(records(3), { progress = false, journal = path })
    local i, args = 0, {}
    local function source(queued)
      args[#args + 1] = queued
      i = i + 1
      if i == 5 then return i, { firstName = 5 } end          -- invalid
      if i > 7 then return nil end
      return i, { firstName = "N" .. i }     -- 1-3 unchanged, 4, 6, 7 new
    end
    local s = qp():update_many(source, { progress = false, journal = path,
                                         concurrency = 1 })
    assert.are.same({ 3, 3, 1 }, { s.ok, s.unchanged, s.invalid })
    assert.are.same({ 0, 0, 0, 0, 1, 1, 2, 3 }, args)
    os.remove(path)
  end)

  it("ends every record right through 429, 503 and dropped connections",
     function()
    for _, f in ipairs({ "429", "503", "drop" }) do
      sandbox.reset()
      -- 1 in 4 fails; 11 tries leave a record ~(1/4)^11 chance to fail
      sandbox.fault{ fault = f, every = 4, path = "/a/api/v2/users/" }
      local attempts = 0
      local s = qp{ retries = 10 }:update_many(records(120), {
        concurrency = 8, progress = false,
        on_result = function(_, _, _, info)
          attempts = attempts + info.attempts
        end })
      assert.are.equal(120, s.ok, f)
      assert.are.equal(0, s.failed, f)
      assert.is_true(attempts > 120, f .. ": no retries seen")
      local puts = sandbox.puts("questionpro")
      for i = 1, 120 do assert.are.equal(1, puts[tostring(i)], f) end
    end
  end)

  it("counts failures by kind once the retries are spent", function()
    sandbox.fault{ fault = "503", count = 1000 }
    local s = qp{ retries = 1 }:update_many(records(10), { progress = false })
    assert.are.equal(10, s.failed)
    assert.are.equal(10, s.by_kind.http)
  end)

  it("keeps to the vendor's connection limit (Forms On Fire: 3)", function()
    sandbox.config{ delay_ms = 300 }
    local ff = userupd.formsonfire{ company_id = 1, integration_key = "k",
                                    base_url = sandbox.url() }
    local recs = {}
    for i = 1, 9 do
      recs[i] = { string.format("%032x", i), { FirstName = "F" } }
    end
    local t0 = clock()
    local s = ff:update_many(recs, { concurrency = 9, progress = false })
    local took = clock() - t0
    assert.are.equal(9, s.ok)
    assert.is_true(took >= 0.85, "took " .. took)  -- 3 rounds of 300 ms
    sandbox.config{ delay_ms = 0 }
  end)

  it("journals outcomes: a re-run skips unchanged successes, retries failures",
     function()
    local db = tmpdb()
    sandbox.fault{ fault = "500", count = 1000, path = "/users/7?" }
    local s = qp{ retries = 0 }:update_many(records(50), { journal = db,
                                                          progress = false })
    assert.are.same({ 49, 1 }, { s.ok, s.failed })
    sandbox.clear_faults()
    local before = sandbox.stats().puts
    s = qp():update_many(records(50), { journal = db, progress = false })
    assert.are.same({ 1, 0, 49 }, { s.ok, s.failed, s.unchanged })
    assert.are.equal(before + 1, sandbox.stats().puts)
    s = qp():update_many(records(50), { journal = db, progress = false })
    assert.are.same({ 0, 50 }, { s.ok, s.unchanged })
    local j = userupd.journal(db)
    assert.are.equal(50, j:summary().ok)
    j:close()
    os.remove(db)
  end)

  it("lists failures with their errors, to feed back", function()
    local db = tmpdb()
    local recs = records(5)
    recs[2] = { 999999999, { firstName = "ghost" } }
    recs[4] = { 4, { firstName = false } }
    qp():update_many(recs, { journal = db, progress = false })
    local j = assert(userupd.journal(db))
    local f = j:failures()
    assert.are.equal(2, #f)
    local by = {}
    for _, r in ipairs(f) do by[r.id] = r end
    assert.are.equal("not_found", by["999999999"].kind)
    assert.are.equal(404, by["999999999"].status)
    assert.are.equal('{"firstName":"ghost"}', by["999999999"].payload)
    assert.are.equal("invalid", by["4"].kind)
    assert.are.equal("firstName", by["4"].field)
    j:close()
    -- the same through the client
    local again = qp():failures(db)
    assert.are.equal(2, #again)
    local none, msg = qp():failures(db .. ".missing")
    assert.is_nil(none)
    assert.matches("no journal", msg, 1, true)
    assert.is_nil(io.open(db .. ".missing"))        -- and none was made
    local sm = userupd.smartermeasure{ username = "u", password = "p" }
    none, msg = sm:failures(db)
    assert.is_nil(none)
    assert.matches("belongs to vendor questionpro", msg, 1, true)
    os.remove(db)
  end)

  it("stops on an error in on_result, and the client stays usable",
     function()
    local c = qp()
    local db = tmpdb()
    local ok, msg = pcall(c.update_many, c, records(100), { journal = db,
      progress = false, concurrency = 4,
      on_result = function(id) if id == 50 then error("stop here") end end })
    assert.is_false(ok)
    assert.matches("stop here", tostring(msg), 1, true)
    -- what the journal holds as done is exactly what a re-run skips
    local j = assert(userupd.journal(db))
    local journaled = j:summary().ok
    j:close()
    assert.is_true(journaled >= 1 and journaled < 100)
    local s = c:update_many(records(100), { journal = db, progress = false })
    assert.are.equal(journaled, s.unchanged)
    assert.are.equal(100 - journaled, s.ok)
    os.remove(db)
  end)

  it("refuses to nest on one client, and another client may run inside",
     function()
    local c, other, inner, nested_err = qp(), qp(), nil, nil
    local s = c:update_many(records(3), { progress = false,
      on_result = function(id)
        if id == 1 then
          local ok, msg = pcall(c.update_many, c, records(1), {})
          nested_err = not ok and msg
          inner = other:update_many(records(2, 100), { progress = false })
        end
      end })
    assert.are.equal(3, s.ok)
    assert.matches("already running", tostring(nested_err), 1, true)
    assert.are.equal(2, inner.ok)
  end)

  it("refuses a journal made for another vendor", function()
    local db = tmpdb()
    qp():update_many(records(1), { journal = db, progress = false })
    local sm = userupd.smartermeasure{ username = "u", password = "p",
                                       base_url = sandbox.url() }
    local ok, msg = pcall(sm.update_many, sm, { { 1, {} } }, { journal = db })
    assert.is_false(ok)
    assert.matches("questionpro", tostring(msg), 1, true)
    os.remove(db)
  end)

  it("draws progress on stderr only when asked, without secrets", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local userupd = require "userupd"
      local c = userupd.questionpro{ api_key = "PROGRESS-SECRET",
        base_url = ]] .. string.format("%q", sandbox.url()) .. [[, rate = 0 }
      local t = {}
      for i = 1, 50 do t[i] = { i, { firstName = "P" } } end
      c:update_many(t, { progress = true })
      c:update_many(t, { progress = false })
    ]])
    f:close()
    local err = script .. ".err"
    os.execute(util.lua() .. " " .. script .. " 2>" .. err)
    local out = util.read(err)
    os.remove(script)
    os.remove(err)
    assert.matches("50/50", out, 1, true)
    assert.matches("ok 50", out, 1, true)
    assert.is_nil(out:find("PROGRESS-SECRET", 1, true))
    local _, lines = out:gsub("\n", "")
    assert.are.equal(1, lines)             -- one bar, ended once
  end)
end)
