-- The CLI's manners on a terminal and in a log file (issue 23 #9, #13;
-- issue 24 terminal manners): the progress line fits the width and drops
-- parts on a narrow terminal; TERM=dumb and a file get plain lines and
-- never a control code; without a terminal a plain progress line every
-- --progress-every seconds; every stderr line starts with an ISO time and
-- the vendor unless --log-format plain; --log-format json writes one
-- object a line.  Real child processes against the sandbox; a terminal
-- is a pseudo-terminal from script(1).
local sandbox = require "support.sandbox"
local util = require "support.util"

local LUA = util.lua and util.lua() or "lua5.4"
local q = util.q

local clirun = require "support.clirun"
local tmp, write = clirun.tmp, clirun.write

local MAP = [[
return function(row)
  return tonumber(row.id), { firstName = row.first }
end]]

local function roster(n)
  local t = { "id,first" }
  for i = 1, n do t[#t + 1] = ("%d,First%d"):format(8100 + i, i) end
  return table.concat(t, "\n") .. "\n"
end

-- The command line for argv (apply questionpro at the sandbox), with a
-- clean USERUPD_* environment and argv.env on top.
local function command(argv)
  local words = { "apply", "questionpro", "--input",
    write(tmp(".csv"), argv.csv or roster(3)), "--map",
    write(tmp(".lua"), MAP), "--base-url", sandbox.url() }
  for _, a in ipairs(argv) do words[#words + 1] = a end
  for i, w in ipairs(words) do words[i] = q(w) end
  local env = { "USERUPD_QUESTIONPRO_API_KEY=k" }
  for k, v in pairs(argv.env or {}) do env[#env + 1] = k .. "=" .. q(v) end
  return ("for v in $(env | sed -n 's/^\\(USERUPD_[A-Za-z0-9_]*\\)=.*/\\1/p');" ..
          " do unset \"$v\"; done; unset COLUMNS; exec env %s %s bin/userupd %s")
    :format(table.concat(env, " "), LUA, table.concat(words, " "))
end

-- stderr to a file: {rc, out, err}
local function run(argv)
  local err = tmp(".err")
  local p = assert(io.popen("(" .. command(argv) .. ") 2>" .. err ..
                            " </dev/null; echo \"::rc=$?\""))
  local out = p:read("*a")
  p:close()
  return { rc = tonumber(out:match("::rc=(%d+)%s*$")),
           out = out:gsub("::rc=%d+%s*$", ""), err = util.read_if(err) or "" }
end

-- stderr (and stdin) on a pseudo-terminal of `cols` columns, stdout to a
-- file: {rc, out, tty} where tty is what the terminal received.
local function run_tty(argv, cols)
  local out, rcf = tmp(".out"), tmp(".rc")
  local inner = ("stty cols %d; (%s) >%s; echo $? >%s"):format(cols,
    command(argv), out, rcf)
  local p = assert(io.popen("script -qec " .. q(inner) .. " /dev/null"))
  local tty = p:read("*a")
  p:close()
  return { rc = tonumber(util.read_if(rcf) or ""),
           out = util.read_if(out) or "", tty = tty }
end

local STAMP = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ questionpro: "

describe("userupd apply without a terminal", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  teardown(function()
    clirun.cleanup()
  end)

  it("writes a plain progress line every --progress-every seconds, each " ..
     "line stamped with the time and the vendor", function()
    -- 12 rows at 4 a second: the run lasts at least 2.75 s however
    -- loaded the machine is, so lines at 1 s and 2 s must come
    local r = run{ csv = roster(12), "--rate", "4", "--concurrency", "1",
                   "--progress-every", "1" }
    assert.are.equal(0, r.rc, r.err)
    assert.is_nil(r.err:find("[\r\27]"), r.err)
    local progress = 0
    for line in r.err:gmatch("[^\n]+") do
      assert.truthy(line:find(STAMP), line)
      if line:find("questionpro: progress: ", 1, true) then
        progress = progress + 1
        assert.truthy(line:find("%d+/12 +%d+%%"), line)
        assert.truthy(line:find("ETA ", 1, true), line)
      end
    end
    assert.truthy(progress >= 2, r.err)
    assert.matches("ok 12", r.out, 1, true)
  end)

  it("a short run writes no progress line at all by default", function()
    local r = run{ "--rate", "0" }
    assert.are.equal(0, r.rc, r.err)
    assert.is_nil(r.err:find("progress:", 1, true), r.err)
  end)

  it("--log-format json: one object a line, with time, vendor and msg",
     function()
    local userupd = require "userupd"
    local r = run{ "--rate", "0", "--progress", "--log-format", "json",
                   csv = roster(2) .. "0,Bad\n" }
    assert.are.equal(1, r.rc, r.err)
    local n = 0
    for line in r.err:gmatch("[^\n]+") do
      local t = assert(userupd.json_decode(line), line)
      assert.truthy(t.time:find("^%d+%-%d+%-%d+T[%d:]+Z$"), line)
      assert.are.equal("questionpro", t.vendor)
      assert.are.equal("string", type(t.msg))
      assert.truthy(line:find('^{"time":'), line)
      n = n + 1
    end
    assert.truthy(n >= 2, r.err)
    assert.matches('"event":"progress"', r.err, 1, true)
  end)

  it("--log-format plain: the message alone", function()
    local r = run{ "--rate", "0", "--log-format", "plain",
                   csv = roster(2) .. "0,Bad\n" }
    assert.are.equal(1, r.rc, r.err)
    assert.matches("^target: QuestionPro at ", r.err) -- names its target
    assert.matches("\nline 4: ", r.err)
  end)
end)

describe("userupd apply on a terminal", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  -- the frames drawn: the text after each "\r\27[K"
  local function frames(tty)
    local list = {}
    for f in tty:gmatch("\r\27%[K([^\r\n]*)") do
      if f ~= "" then list[#list + 1] = f end
    end
    return list
  end

  it("fits the progress line into a narrow terminal, dropping parts",
     function()
    local r = run_tty({ csv = roster(6), "--rate", "0", "--log-format",
                        "plain", env = { TERM = "xterm" } }, 40)
    assert.are.equal(0, r.rc, r.tty)
    local list = frames(r.tty)
    assert.truthy(#list >= 1, r.tty)
    for _, f in ipairs(list) do
      assert.truthy(#f <= 39, ("%d columns: %q"):format(#f, f))
    end
    assert.matches("6/6 100%", list[#list], 1, true)
    assert.is_nil(list[#list]:find("[", 1, true))      -- the bar went first
  end)

  it("keeps every part on a wide terminal, and COLUMNS wins", function()
    local r = run_tty({ csv = roster(6), "--rate", "0", "--log-format",
                        "plain", env = { TERM = "xterm" } }, 200)
    local list = frames(r.tty)
    assert.truthy(list[#list]:find("^%[====") and
                  list[#list]:find("ok 6", 1, true), r.tty)
    r = run_tty({ csv = roster(6), "--rate", "0", "--log-format", "plain",
                  env = { TERM = "xterm", COLUMNS = "30" } }, 200)
    for _, f in ipairs(frames(r.tty)) do assert.truthy(#f <= 29, f) end
  end)

  it("shows a wait on the line with its reason, counting down", function()
    sandbox.fault{ fault = "429:retry_after=3", vendor = "questionpro",
                   count = 1 }
    local r = run_tty({ csv = roster(2), "--rate", "0", "--concurrency",
                        "1", "--log-format", "plain",
                        env = { TERM = "xterm" } }, 100)
    assert.are.equal(0, r.rc, r.tty)
    local seen = {}
    for _, f in ipairs(frames(r.tty)) do
      local n = f:match("waiting (%d) s: Retry%-After from QuestionPro")
      if n then seen[#seen + 1] = tonumber(n) end
    end
    assert.truthy(#seen >= 2, r.tty)
    assert.truthy(seen[#seen] < seen[1], r.tty)   -- redrawn as it passes
  end)

  it("TERM=dumb: no control codes, plain lines", function()
    local r = run_tty({ csv = roster(3), "--rate", "0", "--progress",
                        env = { TERM = "dumb" } }, 80)
    assert.are.equal(0, r.rc, r.tty)
    assert.is_nil(r.tty:find("\27", 1, true), r.tty)
    assert.matches("questionpro: progress: 3/3 100%", r.tty, 1, true)
  end)

  it("NO_COLOR: never a colour code (the CLI writes none at all)",
     function()
    local r = run_tty({ csv = roster(3) .. "0,Bad\n", "--rate", "0",
                        env = { TERM = "xterm", NO_COLOR = "1" } }, 80)
    assert.are.equal(1, r.rc, r.tty)
    assert.is_nil(r.tty:find("\27%[[%d;]*m"), r.tty)
    assert.matches("line 5: ", r.tty, 1, true)
  end)
end)
