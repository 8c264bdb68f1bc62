-- SIGTERM (systemd, docker, timeout) is the first Ctrl-C (issue 21, item
-- 22): no more rows are taken or retried, what is in flight finishes and
-- is journaled, the summary is printed, and the exit status is 143.  A
-- wait on a long Retry-After ends soon after the signal, too.  bin/userupd
-- runs in a child process against the sandbox.
local sandbox = require "support.sandbox"
local util = require "support.util"
local sleep = require("system").sleep

local q = util.q
local LUA = jit and "luajit" or ("lua" .. _VERSION:match("5%.%d"))

local clirun = require "support.clirun"
local tmp, write = clirun.tmp, clirun.write

local function command(argv)
  local words = {}
  for i, a in ipairs(argv) do words[i] = q(a) end
  -- the module built for this Lua (runspecs' LUA_CPATH), not ./userupd.so;
  -- PATH as given, so tools/asan's lua5.4 (first in it, preloading the
  -- ASan runtime its build of the module needs) runs the CLI there
  return ("exec env -i PATH=%s LUA_PATH=%s LUA_CPATH=%s " ..
          "USERUPD_QUESTIONPRO_API_KEY=term-key %s bin/userupd %s")
    :format(q(os.getenv("PATH") or "/usr/bin:/bin"),
            q("./lua/?.lua;" .. (os.getenv("LUA_PATH") or ";;")),
            q(os.getenv("LUA_CPATH") or "./?.so;;"), LUA,
            table.concat(words, " "))
end

local MAP = [[
return function(row) return tonumber(row.id), { firstName = row.first } end]]

local function roster(n)
  local t = { "id,first" }
  for i = 1, n do t[#t + 1] = (8000 + i) .. ",T" .. i end
  return table.concat(t, "\n") .. "\n"
end

local function total_puts()
  local n = 0
  for _, c in pairs(sandbox.puts("questionpro")) do n = n + c end
  return n
end

describe("userupd apply and SIGTERM", function()
  setup(function() sandbox.start() end)
  before_each(function()
    sandbox.reset()
    sandbox.clear_faults()
  end)
  teardown(function()
    clirun.cleanup()
  end)

  -- The CLI's own pid, so the signal goes to it and not to a shell.
  local function start(argv)
    local out, err = tmp(".out"), tmp(".err")
    local p = assert(io.popen("echo $$; " .. command(argv) .. " >" .. out ..
                              " 2>" .. err .. " </dev/null", "r"))
    local pid = assert(tonumber(p:read("*l")))
    return p, pid, out, err
  end

  local function finish(p)
    local ok, how, code = p:close()
    if type(ok) == "number" then code = ok / 256 end  -- 5.1: raw status
    return (how == "exit" or type(ok) == "number") and code or nil
  end

  it("finishes what is in flight, journals it, prints the summary, 143",
     function()
    local journal = tmp(".journal")
    local csv = write(tmp(".csv"), roster(60))
    local argv = { "apply", "questionpro", "--input", csv, "--map",
                   write(tmp(".lua"), MAP), "--base-url", sandbox.url(),
                   "--rate", "10", "--concurrency", "4", "--journal", journal,
                   "--no-progress", "--log-format", "plain" }
    local p, pid, out, err = start(argv)
    sleep(1.5)
    os.execute("kill -TERM " .. pid)
    local code = finish(p)
    if code then assert.equal(143, code) end   -- 5.1/LuaJIT may not say
    local msg, summary = util.read(err), util.read(out)
    local done = tonumber(msg:match("(%d+) done and journaled"))
    assert.truthy(done, msg)
    assert.is_true(done >= 5 and done < 60, msg)
    assert.matches("ok " .. done .. ", failed 0", summary, 1, true)
    assert.equal(done, total_puts())
    -- the same command resumes: the rest, nothing twice
    local r = io.popen("(" .. command(argv) .. ") >/dev/null 2>&1 " ..
                       "</dev/null; echo rc=$?")
    local text = r:read("*a")
    r:close()
    assert.matches("rc=0", text, 1, true)
    for id, n in pairs(sandbox.puts("questionpro")) do
      assert.equal(1, n, "id " .. id .. " was sent " .. n .. " times")
    end
    assert.equal(60, total_puts())
  end)

  it("outside the sending loop: says so and exits 143", function()
    -- a map that takes its time to load: the signal comes before any row
    local slow = write(tmp(".lua"), [[
      local t = os.clock()
      repeat until os.clock() - t > 8
      return function(row) return tonumber(row.id), { firstName = row.first }
      end]])
    local argv = { "apply", "questionpro", "--input",
                   write(tmp(".csv"), roster(3)), "--map", slow,
                   "--base-url", sandbox.url(), "--no-progress",
                   "--log-format", "plain" }
    local p, pid, _, err = start(argv)
    sleep(1.0)
    local t0 = os.time()
    os.execute("kill -TERM " .. pid)
    local code = finish(p)
    if code then assert.equal(143, code) end
    assert.is_true(os.time() - t0 <= 5)
    assert.matches("terminated (SIGTERM): nothing more was sent",
                   util.read(err), 1, true)
    assert.equal(0, total_puts())
  end)

  it("ends a wait on a long Retry-After soon after the signal", function()
    sandbox.fault{ fault = "429:retry_after=20", count = 1000 }
    local argv = { "apply", "questionpro", "--input",
                   write(tmp(".csv"), roster(5)), "--map",
                   write(tmp(".lua"), MAP), "--base-url", sandbox.url(),
                   "--rate", "0", "--concurrency", "1", "--no-progress",
                   "--log-format", "plain" }
    local p, pid, out, err = start(argv)
    sleep(1.5)
    local t0 = os.time()
    os.execute("kill -TERM " .. pid)
    local code = finish(p)
    local took = os.time() - t0
    if code then assert.equal(143, code) end
    assert.is_true(took <= 10, "took " .. took .. " s after SIGTERM")
    assert.matches("ok 0", util.read(out), 1, true)
    assert.matches("interrupted", util.read(err), 1, true)
  end)
end)
