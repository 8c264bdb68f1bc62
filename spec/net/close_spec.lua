-- A client closed, or losing its last reference, from inside one of its own
-- callbacks (on_result, sleep, the iterator source, submit callbacks during
-- poll, a Lua transport): the current call finishes cleanly, what was
-- reported stays reported and journaled, the rest ends with a clear error
-- or a "closed" summary, and no freed memory is touched (tools/asan and
-- tools/valgrind run this file too).
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local clock = require("system").gettime

local function qp(t)
  t = t or {}
  t.api_key, t.base_url = "close-key", sandbox.url()
  t.rate = t.rate or 0
  t.retry_base, t.max_retry_wait = 0.01, 0.05
  return userupd.questionpro(t)
end

local function records(n)
  local t = {}
  for i = 1, n do t[i] = { i, { firstName = "C" .. i } } end
  return t
end

local function tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

-- Every id reported to on_result is in the journal with its outcome.
local function assert_journaled(path, reported)
  local j = assert(userupd.journal(path, "questionpro"))
  for id, ok in pairs(reported) do
    local row = j:get(id)
    assert.is_table(row, "id " .. id .. " reported but not journaled")
    assert.are.equal(ok and "ok" or "failed", row.state)
  end
  j:close()
end

-- A weak table notices when the client is really collected.
local function watch(c)
  return setmetatable({ c }, { __mode = "v" })
end

local function drop(holder)
  holder.c = nil
  collectgarbage()
  collectgarbage()
end

local function drain(limit)
  local t0 = clock()
  while userupd.pending() > 0 and clock() - t0 < (limit or 10) do
    userupd.poll(0.05)
  end
end

describe("closing a client from its own callbacks", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  describe("update_many", function()
    it("stops after close() in on_result, keeping what it reported",
       function()
      local path, reported, calls = tmpdb(), {}, 0
      local c = qp()
      local s = c:update_many(records(40), { concurrency = 4,
        progress = false, journal = path,
        on_result = function(id, _, err)
          calls = calls + 1
          reported[id] = err == nil
          if calls == 3 then c:close() end
        end })
      assert.are.equal("closed", s.stopped)
      assert.matches("closed during the run", s.message, 1, true)
      assert.is_true(calls >= 3 and calls < 40, "calls " .. calls)
      assert.are.equal(calls, s.ok + s.failed + s.invalid)
      assert.matches("closed", tostring(c), 1, true)
      assert_journaled(path, reported)
      os.remove(path)
    end)

    it("stops after close() in the iterator source", function()
      local path, reported, n = tmpdb(), {}, 0
      local c = qp()
      local s = c:update_many(function()
        n = n + 1
        if n == 5 then c:close() end
        if n <= 40 then return n, { firstName = "I" } end
      end, { concurrency = 1, progress = false, journal = path,
             on_result = function(id, _, err) reported[id] = err == nil end })
      assert.are.equal("closed", s.stopped)
      assert.are.equal(5, n)                 -- never called again
      assert.are.equal(4, s.ok)              -- one at a time: 1..4 done
      assert.are.same({ true, true, true, true }, reported)
      assert_journaled(path, reported)
      os.remove(path)
    end)

    it("stops after close() in the sleep hook", function()
      local path, reported, slept = tmpdb(), {}, 0
      local c
      c = qp{ rate = 5, burst = 1, sleep = function()
        slept = slept + 1
        if slept == 3 then c:close() end
      end }
      local s = c:update_many(records(40), { concurrency = 2,
        progress = false, journal = path,
        on_result = function(id, _, err) reported[id] = err == nil end })
      assert.are.equal("closed", s.stopped)
      assert.are.equal(3, slept)
      assert.is_true(s.ok < 40)
      assert_journaled(path, reported)
      os.remove(path)
    end)

    it("stops after close() in on_skip", function()
      local path = tmpdb()
      qp():update_many(records(6), { progress = false, journal = path })
      local c, skips = qp(), 0
      local s = c:update_many(records(6), { concurrency = 2,
        progress = false, journal = path, on_skip = function()
          skips = skips + 1
          c:close()
        end })
      assert.are.equal("closed", s.stopped)
      assert.are.equal(1, skips)
      os.remove(path)
    end)

    it("runs to the end when on_result drops the last reference",
       function()
      local h, calls = { c = qp() }, 0
      local w = watch(h.c)
      local s = h.c:update_many(records(20), { concurrency = 4,
        progress = false, on_result = function()
          calls = calls + 1
          if calls == 2 then drop(h) end
        end })
      assert.is_nil(s.stopped)
      assert.are.equal(20, s.ok)
      assert.are.equal(20, calls)
      collectgarbage()
      collectgarbage()
      assert.is_nil(w[1])                    -- collected after the run
    end)

    it("runs to the end when the iterator or sleep drops the last reference",
       function()
      local h, n = {}, 0
      h.c = qp{ rate = 100, burst = 1, sleep = function() drop(h) end }
      local w = watch(h.c)
      local s = h.c:update_many(function()
        n = n + 1
        if n == 3 then drop(h) end
        if n <= 10 then return n, {} end
      end, { concurrency = 2, progress = false })
      assert.is_nil(s.stopped)
      assert.are.equal(10, s.ok)
      collectgarbage()
      collectgarbage()
      assert.is_nil(w[1])
    end)
  end)

  describe("update", function()
    it("says the client was closed when its sleep hook closed it",
       function()
      sandbox.fault{ fault = "503", count = 1 }
      local c
      c = qp{ sleep = function() c:close() end }
      local user, err, info = c:update(1, { firstName = "S" })
      assert.is_nil(user)
      assert.are.equal("transport", err.kind)
      assert.matches("closed during the call", err.message, 1, true)
      assert.is_false(err.retryable)
      assert.are.equal(1, info.attempts)
      local ok, msg = pcall(c.update, c, 1, {})
      assert.is_false(ok)
      assert.matches("attempt to use a closed client", msg, 1, true)
    end)

    it("says so when the pacing sleep closes it before any attempt",
       function()
      local c
      c = qp{ rate = 1, burst = 1, sleep = function() c:close() end }
      assert.truthy(c:update(1, {}))         -- the burst token
      local _, err, info = c:update(2, {})
      assert.matches("closed during the call", err.message, 1, true)
      assert.are.equal(0, info.attempts)
      assert.are.equal(1, sandbox.stats().requests)
    end)

    it("finishes when the sleep hook drops the last reference", function()
      sandbox.fault{ fault = "503", count = 1 }
      local h = {}
      h.c = qp{ sleep = function() drop(h) end }
      local w = watch(h.c)
      local user, err, info = h.c:update(1, { firstName = "G" })
      assert.is_nil(err)
      assert.are.equal("G", user.firstName)
      assert.are.equal(2, info.attempts)
      collectgarbage()
      collectgarbage()
      assert.is_nil(w[1])
    end)
  end)

  describe("submit and poll", function()
    it("survives close() in a callback, dropping the client's other jobs",
       function()
      local c, d, calls, other = qp(), qp(), 0, 0
      for i = 1, 6 do
        c:submit(i, {}, function()
          calls = calls + 1
          c:close()
        end)
      end
      d:submit(99, {}, function(_, err) other = err == nil and 1 or -1 end)
      drain()
      assert.are.equal(1, calls)             -- the rest were dropped
      assert.are.equal(1, other)             -- another client's job lives
      assert.are.equal(0, userupd.pending())
    end)

    it("survives close() in the callback of an invalid submit", function()
      local c, calls = qp(), 0
      for i = 1, 3 do
        c:submit(i, { nope = i }, function(_, err)
          calls = calls + 1
          assert.are.equal("invalid", err.kind)
          c:close()
        end)
      end
      drain()
      assert.are.equal(1, calls)             -- the others were dropped
    end)

    it("survives a callback dropping the last reference", function()
      local h, calls = { c = qp() }, 0
      local w = watch(h.c)
      for i = 1, 4 do
        h.c:submit(i, {}, function(_, err)
          assert.is_nil(err)
          calls = calls + 1
          drop(h)
        end)
      end
      drain()
      assert.are.equal(4, calls)             -- each job held the client
      collectgarbage()
      collectgarbage()
      assert.is_nil(w[1])
    end)
  end)

  describe("a Lua-transport client", function()
    local function lc(t)
      t.api_key, t.base_url = "close-key", "http://127.0.0.1:1"
      t.retry_base, t.max_retry_wait = 0.01, 0.05
      return userupd.questionpro(t)
    end

    it("says the client was closed when its transport closed it",
       function()
      local c
      c = lc{ transport = function()
        c:close()
        return 200, '{"response":{"userID":1}}', {}
      end }
      local user, err, info = c:update(1, {})
      assert.is_nil(user)
      assert.are.equal("transport", err.kind)
      assert.matches("closed during the call", err.message, 1, true)
      assert.are.equal(1, info.attempts)
    end)

    it("says so when its sleep closed it", function()
      local c
      c = lc{ transport = function() return 503, "{}", {} end,
              sleep = function() c:close() end }
      local _, err = c:get(1)
      assert.are.equal("transport", err.kind)
      assert.matches("closed during the call", err.message, 1, true)
    end)

    it("says so when its transport closed it during the login", function()
      local c, calls = nil, 0
      c = userupd.blackbaud{ username = "u", password = "p",
        base_url = "http://127.0.0.1:1", transport = function()
          calls = calls + 1
          c:close()
          return 200, '{"Token":"tok-1"}', {}
        end }
      local _, err, info = c:update(1, { FirstName = "L" })
      assert.are.equal("transport", err.kind)
      assert.matches("closed during the call", err.message, 1, true)
      assert.are.equal(0, info.attempts)
      assert.are.equal(1, calls)               -- the login only
    end)

    it("finishes when the transport drops the last reference", function()
      local h, calls = {}, 0
      h.c = lc{ transport = function()
        calls = calls + 1
        drop(h)
        if calls == 1 then return 503, "{}", {} end
        return 200, '{"response":{"userID":1}}', {}
      end, sleep = function() drop(h) end }
      local w = watch(h.c)
      local user, err, info = h.c:update(1, {})
      assert.is_nil(err)
      assert.are.equal(1, user.userID)
      assert.are.equal(2, info.attempts)
      collectgarbage()
      collectgarbage()
      assert.is_nil(w[1])
    end)
  end)
end)
