-- userupd apply and a journal that is not this run's (issue 21, items 19,
-- 20, 21): another key or --base-url is a usage error naming both unless
-- --journal-rebind; a second run on a journal in use is a usage error
-- naming the holder; journals are created 0600.  bin/userupd runs in a
-- subprocess from the repository root, against the sandbox.
local sandbox = require "support.sandbox"
local util = require "support.util"

local q = util.q
-- the module built for the Lua that runs this spec (runspecs' LUA_CPATH)
local LUA = jit and "luajit" or ("lua" .. _VERSION:match("5%.%d"))
-- PATH as given: under tools/asan its lua5.4 (first in PATH) preloads the
-- ASan runtime that build of the module needs
local ENV = ("PATH=%s LUA_PATH=%s LUA_CPATH=%s"):format(
  util.q(os.getenv("PATH") or "/usr/bin:/bin"),
  util.q("./lua/?.lua;./lua/?/init.lua;" .. (os.getenv("LUA_PATH") or ";;")),
  util.q(os.getenv("LUA_CPATH") or "./?.so;;"))

local scratch = {}
local function file(content, suffix)
  local path = os.tmpname() .. (suffix or "")
  util.write(path, content)
  scratch[#scratch + 1] = path
  return path
end

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local INPUT, MAP, SLOW_MAP
local function argv(db, extra)
  local t = { "apply", "questionpro", "--input", INPUT, "--map", MAP,
              "--journal", db, "--no-progress", "--log-format", "plain" }
  for _, a in ipairs(extra or {}) do t[#t + 1] = a end
  return t
end

local function command(key, args)
  local words = {}
  for i, a in ipairs(args) do words[i] = q(a) end
  return ("env -i %s USERUPD_QUESTIONPRO_API_KEY=%s " ..
          "USERUPD_QUESTIONPRO_BASE_URL=%s timeout 60 " .. LUA ..
          " bin/userupd %s")
    :format(ENV, q(key), q(sandbox.url()), table.concat(words, " "))
end

local function run(key, args)
  local errfile = file("", ".err")
  local out = sh(command(key, args) .. " 2>" .. errfile ..
                 " </dev/null; echo \"rc=$?\"")
  return { rc = tonumber(out:match("rc=(%d+)%s*$")), out = out,
           err = util.read(errfile) }
end

local function db_path()
  local p = os.tmpname() .. ".db"
  for _, s in ipairs({ "", "-wal", "-shm", ".lock" }) do
    scratch[#scratch + 1] = p .. s
  end
  return p
end

describe("userupd apply --journal of another run", function()
  setup(function()
    sandbox.start()
    local rows = { "id,first" }
    for i = 1, 8 do rows[#rows + 1] = (500 + i) .. ",N" .. i end
    INPUT = file(table.concat(rows, "\n") .. "\n", ".csv")
    MAP = file("return function(r) return r.id, { firstName = r.first } " ..
               "end", ".lua")
    SLOW_MAP = file("return function(r) os.execute('sleep 0.3') " ..
                    "return r.id, { firstName = r.first } end", ".lua")
  end)
  before_each(function()
    sandbox.reset()
    sandbox.clear_faults()
  end)
  teardown(function()
    for _, p in ipairs(scratch) do os.remove(p) end
  end)

  it("another key: exit 2 naming both, nothing sent; --journal-rebind",
     function()
    local db = db_path()
    local first = run("rehearsal-key", argv(db))
    assert.equal(0, first.rc, first.err)
    sandbox.reset()
    local r = run("production-key", argv(db))
    assert.equal(2, r.rc, r.err)
    assert.matches("userupd: journal .- was written for questionpro " ..
                   "account %x+ at http://127%.0%.0%.1:%d+; this run is " ..
                   "account %x+ at http://127%.0%.0%.1:%d+", r.err)
    assert.matches("--journal-rebind", r.err, 1, true)
    assert.is_nil(r.err:find("rehearsal-key", 1, true))
    assert.is_nil(r.err:find("production-key", 1, true))
    assert.same({}, sandbox.puts("questionpro"))
    r = run("production-key", argv(db, { "--journal-rebind" }))
    assert.equal(0, r.rc, r.err)
    r = run("production-key", argv(db))                  -- stays rebound
    assert.equal(0, r.rc, r.err)
  end)

  it("--dry-run with another key: exit 2 too, before any row", function()
    local db = db_path()
    local first = run("rehearsal-key", argv(db))
    assert.equal(0, first.rc, first.err)
    local r = run("production-key", argv(db, { "--dry-run" }))
    assert.equal(2, r.rc, r.err)
    assert.matches("was written for questionpro account", r.err, 1, true)
    r = run("production-key", argv(db, { "--dry-run", "--journal-rebind" }))
    assert.equal(0, r.rc, r.err)
  end)

  it("another --base-url: exit 2 naming both endpoints", function()
    local db = db_path()
    assert.equal(0, run("k", argv(db)).rc)
    local other = sandbox.url():gsub("127%.0%.0%.1", "localhost")
    local r = run("k", argv(db, { "--base-url", other }))
    assert.equal(2, r.rc)
    assert.matches("this run is account %x+ at " .. other:gsub("%p", "%%%0"),
                   r.err)
  end)

  it("--journal-rebind without --journal is a usage error", function()
    local r = run("k", { "apply", "questionpro", "--input", INPUT, "--map",
                         MAP, "--journal-rebind" })
    assert.equal(2, r.rc)
  end)

  it("a second run on a journal in use: exit 2 naming the holder",
     function()
    local db = db_path()
    local args = argv(db)
    args[6] = SLOW_MAP
    local script = file("exec " .. command("k", args) ..
                        " >/dev/null 2>&1 </dev/null\n", ".sh")
    local pid = tonumber(sh("sh " .. script .. " & echo $!"):match("%d+"))
    -- exec'd through env and timeout: the holder is a child; wait for it
    for _ = 1, 200 do
      if (util.read_if(db .. ".lock") or ""):find("pid") then break end
      sh("sleep 0.05")
    end
    local r = run("k", argv(db))
    local holder = (util.read_if(db .. ".lock") or ""):match("pid (%d+)")
    if holder then sh("kill -KILL " .. holder) end   -- no clean release
    for _ = 1, 200 do
      if not util.alive(pid) then break end
      sh("sleep 0.05")
    end
    assert.equal(2, r.rc)
    assert.matches("userupd: journal .- is in use by another run %(pid " ..
                   holder .. " on host .-, started %d%d%d%d%-%d%d%-%d%dT",
                   r.err)
    -- the holder is gone (killed): the next run takes over, and says so
    r = run("k", argv(db))
    assert.equal(0, r.rc, r.err)
    assert.matches("note: the journal's lock was left by a run that is " ..
                   "gone (pid " .. holder .. " on host ", r.err, 1, true)
  end)

  it("creates the journal 0600", function()
    local db = db_path()
    assert.equal(0, run("k", argv(db)).rc)
    assert.equal("600", sh("stat -c %a " .. q(db)):match("%d+"))
    assert.equal("600", sh("stat -c %a " .. q(db .. ".lock")):match("%d+"))
  end)

  it("userupd failures --output writes a 0600 file", function()
    local db = db_path()
    run("bad-key", argv(db))                       -- auth failures
    local csv = file("", ".csv")
    os.execute("chmod 644 " .. q(csv))             -- an existing file too
    local r = run("k", { "failures", "--journal", db, "--format", "csv",
                         "--output", csv })
    assert.equal(0, r.rc, r.err)
    assert.equal("600", sh("stat -c %a " .. q(csv)):match("%d+"))
    assert.matches("^id,line,state,kind", util.read(csv))
    assert.matches(",failed,auth,", util.read(csv), 1, true)
    local fresh = os.tmpname() .. ".jsonl"
    scratch[#scratch + 1] = fresh
    r = run("k", { "failures", "--journal", db, "--output", fresh })
    assert.equal(0, r.rc, r.err)
    assert.equal("600", sh("stat -c %a " .. q(fresh)):match("%d+"))
    assert.matches('"kind":"auth"', util.read(fresh), 1, true)
  end)
end)
