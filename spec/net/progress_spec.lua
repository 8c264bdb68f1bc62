-- update_many's one progress channel: opts.on_progress(stats) at a
-- bounded rate and once at the end; the terminal bar is the Lua renderer
-- userupd.progress fed by that channel (no drawing in C).
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"
local clock = require("system").gettime

local function qp(t)
  t = t or {}
  t.api_key = "progress-key"
  t.base_url = sandbox.url()
  t.rate = t.rate or 0
  return userupd.questionpro(t)
end

local function records(n)
  local t = {}
  for i = 1, n do t[i] = { i, { firstName = "N" .. i } } end
  return t
end

-- Runs a child Lua on script (a string) and returns its stderr.
local function child_stderr(script)
  local path = os.tmpname()
  util.write(path, script)
  local p = io.popen(("SB=%s %s %s 2>&1 >/dev/null"):format(
    util.q(sandbox.url()), util.q(util.lua()), util.q(path)))
  local out = p:read("*a")
  p:close()
  os.remove(path)
  return out
end

describe("update_many on_progress", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("is called at a bounded rate and once at the end", function()
    local calls, finals = {}, 0
    local t0 = clock()
    local s = qp{ rate = 25 }:update_many(records(12), {
      concurrency = 4, progress = false,
      on_progress = function(stats)
        calls[#calls + 1] = stats
        if stats.final then finals = finals + 1 end
      end })
    local elapsed = clock() - t0
    assert.are.equal(12, s.ok)
    assert.are.equal(1, finals)
    local last = calls[#calls]
    assert.is_true(last.final)
    assert.are.equal(12, last.done)
    assert.are.equal(12, last.total)
    assert.are.equal(12, last.ok)
    assert.are.equal(0, last.failed)
    assert.are.equal(0, last.in_flight)
    assert.is_true(last.rate > 0)
    -- 12 records at 25/s take about half a second: a tick or more before
    -- the end, never more than one per 0.1 s (the interval is 0.15 s)
    assert.is_true(#calls >= 2, "calls: " .. #calls)
    assert.is_true(#calls - 1 <= elapsed / 0.1 + 1,
                   ("%d calls in %.2f s"):format(#calls, elapsed))
    local done = -1
    for i = 1, #calls - 1 do
      local st = calls[i]
      assert.is_false(st.final)
      assert.is_true(st.done >= done)
      done = st.done
      assert.is_true(st.in_flight >= 0 and st.in_flight <= 4)
      if st.waiting then
        assert.is_truthy(st.waiting == "pacing" or
                         st.waiting == "rate_limited")
        assert.is_true(st.wait >= 0)
      end
    end
  end)

  it("hands a copy: what the callback changes changes nothing", function()
    local s = qp():update_many(records(20), { concurrency = 4,
      progress = false,
      on_progress = function(stats)
        stats.ok, stats.total, stats.done = -5, 0, 1e9
      end })
    assert.are.equal(20, s.ok)
    assert.are.equal(0, s.failed)
  end)

  it("ends the run with the callback's error", function()
    local ok, err = pcall(function()
      qp{ rate = 25 }:update_many(records(12), { progress = false,
        on_progress = function(stats)
          if not stats.final then error("progress boom") end
        end })
    end)
    assert.is_false(ok)
    assert.matches("progress boom", tostring(err))
  end)

  it("ends the run when it closes the client", function()
    local c = qp{ rate = 25 }
    local s = c:update_many(records(12), { progress = false,
      on_progress = function(stats)
        if not stats.final then c:close() end
      end })
    assert.are.equal("closed", s.stopped)
    assert.is_true(s.ok < 12)
    assert.has_error(function() c:update(1, { firstName = "x" }) end,
                     "attempt to use a closed client")
  end)

  it("refuses a call on the same client from on_progress, at once",
     function()
    -- requests are on the wire while on_progress runs: an update on the
    -- same client would wait for the connections they hold
    local c = qp{ rate = 25, timeout = 2 }
    local tried, msgs = 0, {}
    local t0 = clock()
    local s = c:update_many(records(12), { concurrency = 2, progress = false,
      on_progress = function(stats)
        tried = tried + 1
        local ok, err = pcall(c.update, c, 701, { firstName = "x" })
        msgs[#msgs + 1] = not ok and tostring(err) or "ran"
        if stats.final then
          ok, err = pcall(c.update_many, c, records(1), { progress = false })
          msgs[#msgs + 1] = not ok and tostring(err) or "ran"
        end
      end })
    assert.are.equal(12, s.ok)
    assert.is_true(clock() - t0 < 10)
    assert.is_true(tried >= 2)
    for _, m in ipairs(msgs) do
      assert.matches("called while client:update_many %(its on_progress%) "
                     .. "is running on the same client", m)
    end
    -- and the client is free again afterwards
    assert.truthy(c:update(701, { firstName = "x" }))
  end)

  it("may call another client from on_progress", function()
    local other = qp()
    local n = 0
    local s = qp{ rate = 25 }:update_many(records(6), { progress = false,
      on_progress = function()
        n = n + 1
        assert(other:update(800 + n, { firstName = "y" }))
      end })
    assert.are.equal(6, s.ok)
    assert.is_true(n >= 1)
  end)

  it("rejects an on_progress that is not a function", function()
    assert.has_error(function()
      qp():update_many(records(1), { on_progress = 42 })
    end)
  end)
end)

describe("update_many progress = true", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  local script = [[
    local userupd = require "userupd"
    local c = userupd.questionpro{ api_key = "k", base_url = os.getenv("SB"),
                                   rate = 0 }
    local recs = {}
    for i = 1, 7 do recs[i] = { i, { firstName = "x" } } end
    local s = c:update_many(recs, %s)
    io.stderr:write("\nsummary ok=", s.ok, "\n")
  ]]

  it("draws the bar of userupd.progress on stderr", function()
    local err = child_stderr(script:format("{ progress = true }"))
    assert.matches("summary ok=7", err, 1, true)
    assert.matches("\r\27[K", err, 1, true)
    assert.matches("7/7", err, 1, true)
    assert.matches("ok 7", err, 1, true)
    assert.matches("100%", err, 1, true)       -- the Lua renderer's line
  end)

  it("draws nothing with progress = false, or off a terminal", function()
    for _, opts in ipairs{ "{ progress = false }", "nil", "{}" } do
      local err = child_stderr(script:format(opts))
      assert.are.equal("\nsummary ok=7\n", err, opts)
    end
  end)

  it("leaves the caller's on_progress alone: no bar", function()
    local err = child_stderr(script:format(
      "{ progress = true, on_progress = function() end }"))
    assert.are.equal("\nsummary ok=7\n", err)
  end)

  it("keeps the caller's opts table as it was", function()
    local opts = { progress = true, concurrency = 2 }
    local saved = io.stderr
    local s = qp():update_many(records(3), setmetatable(opts, {}))
    assert.are.equal(3, s.ok)
    assert.is_nil(rawget(opts, "on_progress"))
    assert.are.equal(saved, io.stderr)
  end)
end)
