-- A journal belongs to one account at one endpoint and has one writer at a
-- time, and it is private to its owner (issue 21, items 19, 20, 21).
--   19: another key or base URL on the same journal is refused with a
--       message naming both, unless journal_rebind; the journal keeps a
--       keyed fingerprint of the credential, never the credential; a
--       journal written by a9fd2d4 (no binding) is bound and resumed.
--   20: a second writer is refused with the holder's pid, host and start
--       time; a lock left by a killed writer is taken over.
--   21: the journal, its -wal, -shm and lock files are created 0600.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

local KEY_A, KEY_B = "rehearsal-key-5d1c", "production-key-9e2f"

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local function mode(path)
  return sh("stat -c %a " .. util.q(path) .. " 2>/dev/null"):match("%d+")
end

local scratch = {}
local function db_path()
  local base = os.tmpname()
  os.remove(base)
  local p = base .. ".db"
  for _, s in ipairs({ "", "-wal", "-shm", ".lock" }) do
    scratch[#scratch + 1] = p .. s
  end
  return p
end

local function client(key, url)
  return userupd.questionpro{ api_key = key, base_url = url or sandbox.url(),
                              rate = 0 }
end

local ROWS = { { 101, { firstName = "Ann" } }, { 102, { firstName = "Bob" } },
               { 103, { firstName = "Cy" } } }

local function send(c, db, opts)
  opts = opts or {}
  opts.journal, opts.progress = db, false
  return c:update_many(ROWS, opts)
end

describe("journal owner", function()
  setup(function() sandbox.start() end)
  before_each(function()
    sandbox.reset()
    sandbox.clear_faults()
  end)
  teardown(function()
    for _, p in ipairs(scratch) do os.remove(p) end
  end)

  it("refuses another account, naming both, and sends nothing", function()
    local db = db_path()
    assert.equal(3, send(client(KEY_A), db).ok)
    sandbox.reset()
    local c = client(KEY_B)
    local ok, err = pcall(send, c, db)
    assert.is_false(ok)
    err = tostring(err)
    assert.matches("was written for questionpro account %x+ at " ..
                   sandbox.url():gsub("%p", "%%%0") .. "; this run is " ..
                   "account %x+ at ", err)
    assert.matches("journal_rebind", err, 1, true)
    local a, b = err:match("account (%x+) at .- account (%x+) at")
    assert.not_equal(a, b)
    assert.is_nil(err:find(KEY_A, 1, true))
    assert.is_nil(err:find(KEY_B, 1, true))
    assert.same({}, sandbox.puts("questionpro"))       -- nothing sent
    -- the refused client is not stuck: a right journal works at once
    assert.equal(3, send(c, db_path()).ok)
  end)

  it("refuses another endpoint with the same key", function()
    local db = db_path()
    assert.equal(3, send(client(KEY_A), db).ok)
    local other = sandbox.url():gsub("127%.0%.0%.1", "localhost")
    local ok, err = pcall(send, client(KEY_A, other), db)
    assert.is_false(ok)
    assert.matches("at " .. other:gsub("%p", "%%%0") .. ":", tostring(err))
  end)

  it("journal_rebind moves it on purpose, and it stays moved", function()
    local db = db_path()
    assert.equal(3, send(client(KEY_A), db).ok)
    local s = send(client(KEY_B), db, { journal_rebind = true })
    assert.equal(3, s.ok + (s.unchanged or 0) + (s.skipped or 0))
    assert.is_true(pcall(send, client(KEY_B), db))
    assert.is_false(pcall(send, client(KEY_A), db))
  end)

  it("follows the run while it holds no success (a wrong key first)",
     function()
    local db = db_path()
    local s = client("bad-key"):update_many(ROWS, { journal = db,
      progress = false, concurrency = 1, max_auth_failures = 2 })
    assert.equal(0, s.ok)
    assert.equal(3, send(client(KEY_A), db).ok)      -- fixed key: goes on
    assert.is_false(pcall(send, client("bad-key"), db))  -- bound now
  end)

  it("a dry run checks the binding too, and stores nothing", function()
    local db = db_path()
    assert.equal(3, send(client(KEY_A), db).ok)
    local ok, err = pcall(send, client(KEY_B), db, { dry_run = true })
    assert.is_false(ok)
    assert.matches("was written for questionpro account", tostring(err))
    -- with journal_rebind the plan runs, and the journal keeps its owner
    assert.is_true(pcall(send, client(KEY_B), db, { dry_run = true,
                                                    journal_rebind = true }))
    assert.is_false(pcall(send, client(KEY_B), db))
    assert.is_true(pcall(send, client(KEY_A), db, { dry_run = true }))
  end)

  it("keeps a fingerprint, never the credential", function()
    local db = db_path()
    send(client(KEY_A), db)
    for _, s in ipairs({ "", "-wal", "-shm", ".lock" }) do
      local bytes = util.read_if(db .. s) or ""
      assert.is_nil(bytes:find(KEY_A, 1, true), s)
      assert.is_nil(bytes:find("5d1c", 1, true), s)
    end
    local meta = sh("sqlite3 " .. util.q(db) ..
                    " \"select value from meta where key='account'\"")
    assert.matches("^%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x" ..
                   "%x%x%x%x%x%x%s*$", meta)
  end)

  it("binds and resumes a journal written by a9fd2d4", function()
    local db = db_path()
    util.write(db, util.fixture("journal/a9fd2d4_questionpro.db"))
    local s = send(client(KEY_B), db)      -- not the key that wrote it
    assert.equal(3, s.ok + (s.unchanged or 0))
    assert.equal(0, s.failed)
    assert.is_false(pcall(send, client(KEY_A), db))  -- bound now
  end)

  it("is created 0600 with its -wal, -shm and lock", function()
    local db = db_path()
    local c = client(KEY_A)
    local seen = {}
    local i = 0
    c:update_many(function()
      i = i + 1
      if i == 2 then                       -- mid-run: every file exists
        for _, s in ipairs({ "", "-wal", "-shm", ".lock" }) do
          seen[s] = mode(db .. s)
        end
      end
      if ROWS[i] then return ROWS[i][1], ROWS[i][2] end
    end, { journal = db, progress = false, concurrency = 1 })
    assert.same({ [""] = "600", ["-wal"] = "600", ["-shm"] = "600",
                  [".lock"] = "600" }, seen)
  end)
end)

-- SIGKILL to the holder first, then to its sleep: killed the other way
-- round, the holder's source would return and end the run cleanly.
local function kill9(pid)
  local kids = sh("pgrep -P " .. pid):gsub("%s+", " ")
  sh("kill -KILL " .. pid .. "; kill -KILL " .. kids .. " 2>/dev/null")
end

describe("journal writer lock", function()
  setup(function() sandbox.start() end)
  before_each(function()
    sandbox.reset()
    sandbox.clear_faults()
  end)

  -- A child that journals one record, then waits in its source.
  local function holder(db)
    local script = os.tmpname()
    scratch[#scratch + 1] = script
    util.write(script, ([[
      local userupd = require "userupd"
      local c = userupd.questionpro{ api_key = %q, base_url = %q, rate = 0 }
      local i = 0
      c:update_many(function()
        i = i + 1
        if i == 1 then return 1, { firstName = "Held" } end
        if i == 2 then os.execute("sleep 60") end
      end, { journal = %q, progress = false, concurrency = 1 })
    ]]):format(KEY_A, sandbox.url(), db))
    local pid = tonumber(sh(("sh -c 'echo $$; exec %s %s' >%s.out 2>&1 " ..
      "</dev/null & sleep 0.1; head -1 %s.out"):format(util.lua(), script,
      script, script)):match("%d+"))
    -- the child writes its pid first; wait for its lock note (bounded)
    for _ = 1, 200 do
      local note = util.read_if(db .. ".lock") or ""
      if note:find("pid") then break end
      sh("sleep 0.05")
    end
    return pid
  end

  it("refuses a second writer, naming pid, host and start", function()
    local db = db_path()
    local pid = holder(db)
    assert.truthy(pid)
    local note = util.read_if(db .. ".lock") or ""
    assert.matches("pid %d+ on host .+, started %d%d%d%d%-%d%d%-%d%dT", note)
    local ok, err = pcall(send, client(KEY_A), db)
    -- another name for the same journal (a symbolic link) is no way round
    local alias = db_path()
    os.execute("ln -s " .. util.q(db) .. " " .. util.q(alias))
    local ok2, err2 = pcall(send, client(KEY_A), alias)
    -- nor is a write through a journal handle (prune, run history)
    local j = assert(userupd.journal(db))
    local pruned, err3 = j:prune({ "1" })
    local run_no, err4 = j:record_run({ started = os.time(),
                                        finished = os.time() })
    j:close()
    kill9(pid)
    assert.is_nil(pruned)
    assert.matches("is in use by another run (pid " .. pid, err3, 1, true)
    assert.is_nil(run_no)
    assert.matches("is in use by another run (pid " .. pid, err4, 1, true)
    assert.is_false(ok)
    assert.matches("journal .- is in use by another run %(pid %d+ on host " ..
                   ".-, started %d%d%d%d%-", tostring(err))
    assert.is_false(ok2)
    assert.matches("is in use by another run (pid " .. pid, tostring(err2),
                   1, true)
  end)

  it("takes over the lock a killed writer left", function()
    local db = db_path()
    local pid = holder(db)
    kill9(pid)
    for _ = 1, 100 do
      if not util.alive(pid) then break end
      sh("sleep 0.05")
    end
    assert.matches("pid " .. pid, util.read_if(db .. ".lock") or "")
    local s = send(client(KEY_A), db)
    assert.equal(3, s.ok)
    assert.matches("^pid " .. pid .. " on host .+, started ",
                   s.lock_taken_over)                -- detected, said
    assert.equal("", util.read_if(db .. ".lock"))  -- released cleanly
    assert.is_nil(send(client(KEY_A), db).lock_taken_over)
  end)
end)
