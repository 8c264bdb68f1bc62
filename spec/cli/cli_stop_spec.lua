-- Stopping a run (issue 23 #8, #12): the first Ctrl-C says at once what
-- happens to the requests in flight, even during a slow answer or a long
-- Retry-After; the second drops them, says what was journaled and exits
-- 130 with a summary; a 429 storm stops the run like repeated auth
-- failures do, the rest pending (exit 75).  Real child processes against
-- the sandbox.
local sandbox = require "support.sandbox"
local util = require "support.util"
local sleep = require("system").sleep
local now = require("system").gettime

local LUA = util.lua()
local q = util.q

local clirun = require "support.clirun"
local tmp, write = clirun.tmp, clirun.write

local MAP = [[
return function(row)
  return tonumber(row.id), { firstName = row.first }
end]]

local function roster(n)
  local t = { "id,first" }
  for i = 1, n do t[#t + 1] = ("%d,First%d"):format(8600 + i, i) end
  return table.concat(t, "\n") .. "\n"
end

local function command(argv)
  local words = { "apply", "questionpro", "--input",
    write(tmp(".csv"), argv.csv or roster(10)), "--map",
    write(tmp(".lua"), MAP), "--base-url", sandbox.url(), "--rate", "0",
    "--log-format", "plain" }
  for _, a in ipairs(argv) do words[#words + 1] = a end
  if words[#words] ~= "--progress" then words[#words + 1] = "--no-progress" end
  for i, w in ipairs(words) do words[i] = q(w) end
  local env = { "USERUPD_QUESTIONPRO_API_KEY=k" }
  for k, v in pairs(argv.env or {}) do env[#env + 1] = k .. "=" .. q(v) end
  return ("for v in $(env | sed -n 's/^\\(USERUPD_[A-Za-z0-9_]*\\)=.*/\\1/p');" ..
          " do unset \"$v\"; done; exec env %s %s bin/userupd %s")
    :format(table.concat(env, " "), LUA, table.concat(words, " "))
end

-- Starts the command in the background: { pid, out, err, p }.
local function start(argv)
  local out, err = tmp(".out"), tmp(".err")
  local p = assert(io.popen("echo $$; " .. command(argv) .. " >" .. out ..
                            " 2>" .. err, "r"))
  return { pid = assert(tonumber(p:read("*l"))), out = out, err = err,
           p = p }
end

-- Waits for the child; its exit status (nil where this Lua cannot tell).
local function finish(c)
  local ok, how, code = c.p:close()
  if type(ok) == "number" then return ok / 256 end  -- 5.1: the raw status
  if how == "exit" then return code end
  return nil
end

-- Waits up to secs for a predicate.
local function wait_for(secs, pred)
  local t = now()
  while now() - t < secs do
    if pred() then return true end
    sleep(0.05)
  end
  return pred()
end

-- Answers the sandbox gave so far.
local function requests() return sandbox.stats().requests or 0 end

describe("userupd apply, stopping", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  teardown(function()
    clirun.cleanup()
  end)

  it("Ctrl-C twice during slow answers: says so at once, then drops " ..
     "what is in flight, exits 130 with a summary", function()
    sandbox.fault{ fault = "delay:ms=20000", vendor = "questionpro" }
    local journal = tmp(".journal")
    local t0 = now()
    local c = start{ "--concurrency", "3", "--journal", journal }
    -- the sandbox notes a request as it arrives, before its delay
    assert.is_true(wait_for(10, function()
      return sandbox.last("questionpro") ~= nil
    end))
    sleep(0.5)                      -- the other two go out at the same time
    os.execute("kill -INT " .. c.pid)
    -- the first press is answered while the answers are 20 s away
    assert.is_true(wait_for(5, function()
      return (util.read_if(c.err) or ""):find("stopping: ", 1, true) ~= nil
    end), util.read_if(c.err))
    local err = util.read_if(c.err)
    local n = tonumber(err:match("stopping: (%d+) in flight will finish " ..
      "and be journaled; Ctrl%-C again to quit now"))
    assert.truthy(n and n >= 1 and n <= 3, err)
    os.execute("kill -INT " .. c.pid)
    local code = finish(c)
    assert.is_true(now() - t0 < 15, "the second press ended the wait")
    if code then assert.are.equal(130, code) end
    err = util.read_if(c.err)
    assert.matches(("interrupted again: %d in flight dropped unanswered, " ..
                    "not journaled (the next run sends them again); 0 done " ..
                    "and journaled"):format(n), err, 1, true)
    assert.matches("questionpro: ok 0, failed 0", util.read_if(c.out), 1,
                   true)
  end)

  it("Ctrl-C during a long Retry-After ends the wait at once", function()
    sandbox.fault{ fault = "429:retry_after=30", vendor = "questionpro" }
    local t0 = now()
    local c = start{ "--concurrency", "1" }
    assert.is_true(wait_for(10, function() return requests() >= 1 end))
    sleep(0.5)                                 -- now in the 30 s wait
    os.execute("kill -INT " .. c.pid)
    local code = finish(c)
    assert.is_true(now() - t0 < 20, "the wait was cut short")
    if code then assert.are.equal(130, code) end
    local err = util.read_if(c.err)
    assert.matches("stopping: 0 in flight will finish", err, 1, true)
    assert.matches("interrupted: 0 done", err, 1, true)
  end)

  it("a 429 storm stops the run, the rest pending, exit 75", function()
    sandbox.fault{ fault = "429-noretry", vendor = "questionpro" }
    local c = start{ csv = roster(40), "--concurrency", "1",
                     "--max-rate-limited", "3",
                     env = { USERUPD_QUESTIONPRO_RETRIES = "0" } }
    local code = finish(c)
    if code then assert.are.equal(75, code) end
    local err, out = util.read_if(c.err), util.read_if(c.out)
    assert.matches("stopped: 3 records in a row still rate-limited after " ..
                   "their retries (--max-rate-limited)", err, 1, true)
    assert.are.equal(3, requests())
    assert.matches("failed 3", out, 1, true)
    assert.matches("left 37 for the next run", out, 1, true)
  end)

  it("the default bound is 5 in a row", function()
    sandbox.fault{ fault = "429-noretry", vendor = "questionpro" }
    local c = start{ csv = roster(40), "--concurrency", "1",
                     env = { USERUPD_QUESTIONPRO_RETRIES = "0" } }
    local code = finish(c)
    if code then assert.are.equal(75, code) end
    assert.are.equal(5, requests())
    assert.matches("stopped: 5 records in a row", util.read_if(c.err), 1,
                   true)
  end)
end)

describe("userupd apply, waits", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("a wait longer than a second shows with its reason, and the summary " ..
     "counts retries and time waited", function()
    sandbox.fault{ fault = "429:retry_after=2", vendor = "questionpro",
                   count = 1 }
    local c = start{ csv = roster(3), "--concurrency", "1", "--progress" }
    local code = finish(c)
    if code then assert.are.equal(0, code) end
    local err, out = util.read_if(c.err), util.read_if(c.out)
    assert.matches("waiting 2 s: Retry-After from QuestionPro", err, 1, true)
    assert.matches("retries 1, time spent waiting 2 s", out, 1, true)
  end)
end)
