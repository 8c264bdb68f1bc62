-- journal_spec.lua: userupd.journal, the run journal's Lua face.
-- Journals are populated through userupd._journal_record (a test seam that
-- runs the real C recording code), never by writing the schema directly.
local userupd = require "userupd"

local VENDOR = "acme"
local made = {}

-- A fresh journal path under /tmp, removed (with -wal/-shm) after each test.
local function tmppath()
  local p = os.tmpname()
  os.remove(p)
  p = p .. ".db"
  made[#made + 1] = p
  return p
end

local function remove_journal(p)
  os.remove(p)
  os.remove(p .. "-wal")
  os.remove(p .. "-shm")
end

local function record(path, t)
  local ok, err = userupd._journal_record(path, VENDOR, t)
  assert(ok, err)
end

local function shq(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function sleep(s)
  os.execute("sleep " .. s)
end

local function read_file(p)
  local f = io.open(p, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

after_each(function()
  for i = #made, 1, -1 do
    remove_journal(made[i])
    made[i] = nil
  end
end)

describe("userupd.journal", function()
  it("creates a journal for a vendor and reopens it", function()
    local path = tmppath()
    local j = assert(userupd.journal(path, VENDOR))
    assert.equal(VENDOR, j:vendor())
    assert.same({ok = 0, failed = 0, invalid = 0, total = 0, vendor = VENDOR},
                j:summary())
    j:close()
    j = assert(userupd.journal(path))       -- any vendor when omitted
    assert.equal(VENDOR, j:vendor())
    j:close()
    j = assert(userupd.journal(path, VENDOR))
    j:close()
  end)

  it("refuses a journal made for another vendor", function()
    local path = tmppath()
    record(path, {id = "a", state = "ok"})
    local j, err = userupd.journal(path, "other")
    assert.is_nil(j)
    assert.equal("journal " .. path .. " belongs to vendor acme, not other",
                 err)
    local ok, err2 = userupd._journal_record(path, "other",
                                             {id = "b", state = "ok"})
    assert.is_nil(ok)
    assert.equal(err, err2)
  end)

  it("says when there is no journal and no vendor to create one", function()
    local path = tmppath()
    local j, err = userupd.journal(path)
    assert.is_nil(j)
    assert.equal("no journal at " .. path, err)
    assert.is_nil(io.open(path, "rb"))      -- nothing was created
  end)

  it("looks up unknown, ok, failed and invalid ids", function()
    local path = tmppath()
    record(path, {id = 17, state = "ok", attempts = 2, status = 200,
                  elapsed = 0.25})
    record(path, {id = "u-2", state = "failed", attempts = 3, status = 422,
                  kind = "rejected", message = "email taken",
                  vendor_code = "E42"})
    record(path, {id = "u-3", state = "invalid", kind = "invalid",
                  field = "email", message = "email: not an address"})
    local j = assert(userupd.journal(path))
    assert.is_nil(j:get("nope"))
    assert.is_nil(j:get(18))
    local ok = j:get(17)
    assert.equal("ok", ok.state)
    assert.equal(2, ok.attempts)
    assert.equal(200, ok.status)
    assert.equal(0.25, ok.elapsed)
    assert.is_nil(ok.kind)
    assert.is_number(ok.updated_at)
    assert.is_true(math.abs(ok.updated_at - os.time()) < 600)
    assert.same(ok, j:get("17"))            -- integers are decimal strings
    assert.same(ok, j:get(17.0))
    local f = j:get("u-2")
    assert.equal("failed", f.state)
    assert.equal(3, f.attempts)
    assert.equal(422, f.status)
    assert.equal("rejected", f.kind)
    assert.equal("email taken", f.message)
    assert.equal("E42", f.vendor_code)
    local inv = j:get("u-3")
    assert.equal("invalid", inv.state)
    assert.equal("email", inv.field)
    j:close()
  end)

  it("keeps the last good hash and payload when a retry fails", function()
    local path = tmppath()
    record(path, {id = "a", state = "ok", hash = "ffffffffffffffff",
                  payload = '{"name":"one"}'})
    record(path, {id = "a", state = "failed", kind = "transport",
                  message = "timeout", hash = 7, payload = '{"name":"two"}'})
    local j = assert(userupd.journal(path))
    local row = j:get("a")
    assert.equal("failed", row.state)
    assert.equal("ffffffffffffffff", row.ok_hash)
    assert.equal('{"name":"one"}', row.ok_payload)
    assert.equal('{"name":"two"}', row.payload)
    j:close()
    -- a later success replaces the good payload and clears the failure
    record(path, {id = "a", state = "ok", hash = 42,
                  payload = '{"name":"three"}'})
    j = assert(userupd.journal(path))
    row = j:get("a")
    assert.equal("ok", row.state)
    assert.equal("000000000000002a", row.ok_hash)
    assert.equal('{"name":"three"}', row.ok_payload)
    assert.is_nil(row.payload)
    assert.is_nil(row.kind)
    assert.is_nil(row.message)
    j:close()
  end)

  it("lists failures in id order with their payloads", function()
    local path = tmppath()
    record(path, {id = "c", state = "failed", kind = "http", status = 500,
                  message = "server error", payload = '{"c":1}'})
    record(path, {id = "a", state = "invalid", kind = "invalid",
                  field = "email", message = "bad email"})
    record(path, {id = "b", state = "ok"})
    record(path, {id = "d", state = "failed", kind = "transport"})
    record(path, {id = "d", state = "ok"})  -- recovered: not a failure now
    local j = assert(userupd.journal(path))
    local list = j:failures()
    assert.equal(2, #list)
    assert.equal("a", list[1].id)
    assert.equal("invalid", list[1].state)
    assert.equal("email", list[1].field)
    assert.equal("bad email", list[1].message)
    assert.is_nil(list[1].payload)
    assert.equal("c", list[2].id)
    assert.equal("failed", list[2].state)
    assert.equal("http", list[2].kind)
    assert.equal(500, list[2].status)
    assert.equal(1, list[2].attempts)
    assert.equal('{"c":1}', list[2].payload)
    j:close()
  end)

  it("streams failures and survives a loop left early", function()
    local path = tmppath()
    for i = 1, 20 do
      record(path, {id = string.format("id%02d", i),
                    state = i % 2 == 0 and "failed" or "ok"})
    end
    local j = assert(userupd.journal(path))
    local seen = {}
    for f in j:each_failure() do
      seen[#seen + 1] = f.id
      if #seen == 3 then break end
    end
    assert.same({"id02", "id04", "id06"}, seen)
    local stale = j:each_failure()
    local n = 0
    for f in j:each_failure() do            -- finalizes stale's cursor
      n = n + 1
      assert.equal("failed", f.state)
    end
    assert.equal(10, n)
    assert.has_error(function() stale() end,
                     "each_failure iterator replaced by a later call")
    local it = j:each_failure()
    assert.equal("id02", it().id)
    j:close()                               -- finalizes it's cursor
    assert.has_error(function() it() end, "attempt to use a closed journal")
    do -- a journal dropped mid-loop is finalized by __gc
      local j2 = assert(userupd.journal(path))
      local it2 = j2:each_failure()
      assert.equal("id02", it2().id)
    end
    collectgarbage()
    collectgarbage()
  end)

  it("counts outcomes by their latest state", function()
    local path = tmppath()
    record(path, {id = 1, state = "ok"})
    record(path, {id = 2, state = "ok"})
    record(path, {id = 3, state = "failed"})
    record(path, {id = 4, state = "invalid"})
    record(path, {id = 2, state = "failed"})   -- ok -> failed
    record(path, {id = 3, state = "ok"})       -- failed -> ok
    record(path, {id = 3, state = "ok"})       -- unchanged
    record(path, {id = 4, state = "failed"})   -- invalid -> failed
    local j = assert(userupd.journal(path))
    assert.same({ok = 2, failed = 2, invalid = 0, total = 4, vendor = VENDOR},
                j:summary())
    j:close()
  end)

  it("raises on a closed journal, and close is idempotent", function()
    local path = tmppath()
    local j = assert(userupd.journal(path, VENDOR))
    j:close()
    j:close()
    for _, m in ipairs({"get", "failures", "each_failure", "summary",
                        "vendor", "check"}) do
      assert.has_error(function() return j[m](j, "x") end,
                       "attempt to use a closed journal")
    end
    assert.equal("userupd.journal(" .. path .. "): closed", tostring(j))
  end)

  it("prints its path and size, never payload text", function()
    local path = tmppath()
    record(path, {id = "a", state = "ok", payload = '{"secretish":"zzz"}'})
    record(path, {id = "b", state = "failed", payload = '{"other":"yyy"}'})
    local j = assert(userupd.journal(path))
    local s = tostring(j)
    assert.equal("userupd.journal(" .. path .. "): 2 records", s)
    assert.is_nil(s:find("zzz", 1, true))
    assert.is_nil(s:find("yyy", 1, true))
    j:close()
  end)

  it("returns nil and a message for an unwritable path", function()
    local path = "/nonexistent-userupd-dir/run.db"
    local j, err = userupd.journal(path, VENDOR)
    assert.is_nil(j)
    assert.equal("journal " .. path .. ": unable to open database file", err)
    local ok, err2 = userupd._journal_record(path, VENDOR,
                                             {id = 1, state = "ok"})
    assert.is_nil(ok)
    assert.equal(err, err2)
    j, err = userupd.journal("/tmp", VENDOR)  -- a directory
    assert.is_nil(j)
    assert.matches("^journal /tmp: ", err)
  end)

  it("returns nil and a message for a corrupt file", function()
    local path = tmppath()
    local f = assert(io.open(path, "wb"))
    f:write(string.rep("this is not an sqlite database\0\1\2", 200))
    f:close()
    local j, err = userupd.journal(path)
    assert.is_nil(j)
    assert.equal("journal " .. path .. ": file is not a database", err)
    j, err = userupd.journal(path, VENDOR)
    assert.is_nil(j)
    assert.equal("journal " .. path .. ": file is not a database", err)
    assert.equal(string.rep("this is not an sqlite database\0\1\2", 200),
                 read_file(path))           -- left untouched
  end)

  it("raises for bad arguments with Lua's wording", function()
    local path = tmppath()
    assert.has_error(function() userupd.journal({}) end,
                     "bad argument #1 to 'journal' "
                     .. "(string expected, got table)")
    assert.has_error(function() userupd.journal(path, {}) end,
                     "bad argument #2 to 'journal' "
                     .. "(string expected, got table)")
    assert.has_error(function() userupd.journal("") end,
                     "bad argument #1 to 'journal' (file name expected)")
    local j = assert(userupd.journal(path, VENDOR))
    assert.has_error(function() j:get({}) end,
                     "bad argument #1 to 'get' "
                     .. "(string or integer expected, got table)")
    assert.has_error(function() j:get(1.5) end,
                     "bad argument #1 to 'get' "
                     .. "(number has no integer representation)")
    assert.has_error(function() j:get("") end,
                     "bad argument #1 to 'get' (empty id)")
    assert.has_error(function()
      userupd._journal_record(path, VENDOR, {id = "a", state = "done"})
    end, "bad argument #3 to '_journal_record' "
         .. "(field 'state': 'ok', 'failed' or 'invalid' expected)")
    assert.has_error(function()
      userupd._journal_record(path, VENDOR, {state = "ok"})
    end, "bad argument #3 to '_journal_record' "
         .. "(field 'id': non-empty string or integer expected)")
    assert.has_error(function()
      userupd._journal_record(path, VENDOR, {id = 1, state = "ok",
                                             attempts = 1e300})
    end, "bad argument #3 to '_journal_record' "
         .. "(field 'attempts': non-negative integer expected)")
    j:close()
  end)

  if _VERSION == "Lua 5.4" then
    it("closes with <close>", function()
      local path = tmppath()
      local chunk = assert(load([[
        local userupd, path = ...
        local j <close> = assert(userupd.journal(path, "acme"))
        return j
      ]]))
      local j = chunk(userupd, path)
      assert.has_error(function() j:summary() end,
                       "attempt to use a closed journal")
    end)
  end

  it("keeps every reported outcome when the writer is SIGKILLed", function()
    local path = tmppath()
    local base = path:gsub("%.db$", "")
    local script, out, errf = base .. ".lua", base .. ".out", base .. ".err"
    made[#made + 1] = script
    made[#made + 1] = out
    made[#made + 1] = errf
    local f = assert(io.open(script, "w"))
    f:write([[
      local userupd = require "userupd"
      for i = 1, 2000 do
        assert(userupd._journal_record(arg[1], "acme", {id = i, state = "ok",
          hash = i, payload = '{"n":' .. i .. '}'}))
        io.stdout:write(i, "\n")
        io.stdout:flush()
      end
    ]])
    f:close()
    local lua = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    local p = assert(io.popen(string.format(
      "LUA_CPATH=%s %s %s %s >%s 2>%s & echo $!", shq(package.cpath),
      lua, shq(script), shq(path), shq(out), shq(errf))))
    local pid = tonumber(p:read("*l"))
    p:close()
    assert.is_number(pid)
    -- let it get well into the run, then kill it without warning
    local t0 = os.time()
    repeat
      sleep(0.05)
      local _, lines = read_file(out):gsub("\n", "")
    until lines >= 200 or os.time() - t0 > 60
    os.execute("kill -9 " .. pid)
    repeat                                   -- gone, or a zombie
      sleep(0.05)
      local st = read_file("/proc/" .. pid .. "/stat")
    until st == "" or st:match("^%d+ %b() Z") or os.time() - t0 > 90
    assert.equal("", read_file(errf))
    local printed = {}
    for id in read_file(out):gmatch("(%d+)\n") do
      printed[#printed + 1] = id
    end
    assert.is_true(#printed >= 200)
    assert.is_true(#printed < 2000, "the writer finished before the kill")
    local j = assert(userupd.journal(path))
    for _, id in ipairs(printed) do
      local row = j:get(id)
      assert.is_table(row, "lost id " .. id)
      assert.equal("ok", row.state)
      assert.equal('{"n":' .. id .. '}', row.ok_payload)
    end
    assert.is_true(j:summary().ok >= #printed)
    assert.is_true(j:check())
    j:close()
  end)
end)
