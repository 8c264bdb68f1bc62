-- A new case of issue 21 item 20 (a journal has one writer at a time):
-- `userupd failures --prune` deletes rows from the journal, so it is a
-- writer too.  While a run holds the journal, prune is refused (exit 2,
-- naming the holder) and the journal's failures are all still there.
local sandbox = require "support.sandbox"
local util = require "support.util"

local q = util.q
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

local function command(args)
  local words = {}
  for i, a in ipairs(args) do words[i] = q(a) end
  return ("env -i %s USERUPD_QUESTIONPRO_API_KEY=k " ..
          "USERUPD_QUESTIONPRO_BASE_URL=%s timeout 60 " .. LUA ..
          " bin/userupd %s"):format(ENV, q(sandbox.url()),
                                    table.concat(words, " "))
end

local function run(args)
  local errfile = file("", ".err")
  local out = sh(command(args) .. " 2>" .. errfile ..
                 " </dev/null; echo \"rc=$?\"")
  return { rc = tonumber(out:match("rc=(%d+)%s*$")), out = out,
           err = util.read(errfile) }
end

local function failures(db)
  local r = run{ "failures", "--journal", db }
  local n = 0
  for _ in r.out:gmatch('"state":"failed"') do n = n + 1 end
  return n
end

describe("userupd failures --prune and a journal in use", function()
  setup(function() sandbox.start() end)
  before_each(function()
    sandbox.reset()
    sandbox.clear_faults()
  end)
  teardown(function()
    for _, p in ipairs(scratch) do os.remove(p) end
  end)

  it("is refused while a run holds the journal; nothing is removed",
  function()
    local db = os.tmpname() .. ".db"
    for _, s in ipairs({ "", "-wal", "-shm", ".lock" }) do
      scratch[#scratch + 1] = db .. s
    end
    local map = file("return function(r) return r.id, " ..
                     "{ firstName = r.first } end", ".lua")
    local slow = file("return function(r) os.execute('sleep 0.3') " ..
                      "return r.id, { firstName = r.first } end", ".lua")
    -- run 1: 7401 fails; run 2 (7402 only) leaves it absent: prunable
    sandbox.fault{ fault = "500", path = "/7401", count = 100 }
    run{ "apply", "questionpro", "--journal", db, "--no-progress",
         "--input", file("id,first\n7401,A\n7402,B\n", ".csv"),
         "--map", map }
    sandbox.clear_faults()
    local rows = { "id,first", "7402,B" }
    for i = 1, 10 do rows[#rows + 1] = (7410 + i) .. ",S" end
    local again = file(table.concat(rows, "\n") .. "\n", ".csv")
    run{ "apply", "questionpro", "--journal", db, "--no-progress",
         "--input", file("id,first\n7402,B\n", ".csv"), "--map", map }
    assert.are.equal(1, failures(db))
    -- run 3 holds the journal (a slow map), then prune is tried
    local script = file("exec " .. command{ "apply", "questionpro",
      "--journal", db, "--no-progress", "--input", again, "--map", slow } ..
      " >/dev/null 2>&1 </dev/null\n", ".sh")
    local pid = tonumber(sh("sh " .. script .. " & echo $!"):match("%d+"))
    for _ = 1, 200 do
      if (util.read_if(db .. ".lock") or ""):find("pid") then break end
      sh("sleep 0.05")
    end
    local r = run{ "failures", "--journal", db, "--prune" }
    local holder = (util.read_if(db .. ".lock") or ""):match("pid (%d+)")
    if holder then sh("kill -KILL " .. holder) end
    for _ = 1, 200 do
      if not util.alive(pid) then break end
      sh("sleep 0.05")
    end
    assert.are.equal(2, r.rc, r.err .. r.out)
    assert.matches("in use", r.err, 1, true)
    assert.are.equal(1, failures(db))
  end)
end)
