-- spec/cli/cli_spec.lua: bin/userupd as a user runs it, in a subprocess.
--
-- Runs from the repository root (as tools/runspecs does).  Tests that need
-- the C module (./userupd.so, built for Lua 5.4 by `make`) fail, naming
-- why, when it does not load; the rest run anyway.
local ENV = "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./?.so;;'"

-- Every USERUPD_* variable of the calling shell is dropped, so a developer's
-- real credentials can neither leak into nor satisfy a test.
local CLEAN = "for v in $(env | sed -n 's/^\\(USERUPD_[A-Za-z0-9_]*\\)=.*/\\1/p');" ..
              " do unset \"$v\"; done; "

local SECRET = "S3CRET-MARKER-7f2c"

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local fh = io.open(path, "rb")
  if not fh then return "" end
  local s = fh:read("*a")
  fh:close()
  return s
end

local scratch = {}

-- A scratch file with this content; removed in teardown.
local function file(content, suffix)
  local base = os.tmpname() -- creates the file: remove it too
  local path = base .. (suffix or "")
  local fh = assert(io.open(path, "wb"))
  fh:write(content)
  fh:close()
  scratch[#scratch + 1] = base
  scratch[#scratch + 1] = path
  return path
end

-- run{"apply", "questionpro", ...; env = {NAME = value}} -> {rc, out, err}
local function run(argv)
  local words, env = {}, {}
  for i, a in ipairs(argv) do words[i] = shell_quote(a) end
  for name, value in pairs(argv.env or {}) do
    env[#env + 1] = name .. "=" .. shell_quote(value)
  end
  local errfile = os.tmpname()
  local cmd = ("%s%s %s lua5.4 bin/userupd %s 2>%s </dev/null; echo \"::rc=$?\"")
    :format(CLEAN, ENV, table.concat(env, " "), table.concat(words, " "), errfile)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  local err = slurp(errfile)
  os.remove(errfile)
  local rc = tonumber(out:match("::rc=(%d+)%s*$"))
  return { rc = rc, out = out:gsub("::rc=%d+%s*$", ""), err = err }
end

-- Why the module cannot be used yet, or nil when it can.
local function module_missing()
  local probe = [[
    local ok, u = pcall(require, "userupd")
    if not ok then print("require 'userupd' failed: " .. tostring(u)) return end
    for _, name in ipairs({ "new", "vendors", "json_decode", "json_encode",
                            "journal" }) do
      if u[name] == nil then print("userupd." .. name .. " is missing") return end
    end
    local c = u.new("questionpro", { api_key = "k" })
    if not (c.prepare and c.update_many) then
      print("client:prepare or client:update_many is missing")
    end]]
  local p = assert(io.popen(ENV .. " lua5.4 -e " .. shell_quote(probe) ..
                            " 2>&1"))
  local why = p:read("*a")
  p:close()
  why = why:match("[^\n]*") -- one line keeps the failure message short
  return why ~= "" and why or nil
end

local MISSING = module_missing()

-- it() for tests that need the module: without it they fail, saying why
-- (a module that does not load must not pass as skipped tests).
local function it_module(name, fn)
  it(name, function()
    assert(not MISSING, "needs the module: " .. tostring(MISSING))
    fn()
  end)
end

local QP_KEY = { USERUPD_QUESTIONPRO_API_KEY = SECRET }

-- A small QuestionPro roster: lines 2 and 6 are fine, 3 has a bad
-- department, 4 a stray quote, 5 a bad id, 7 makes the map raise, 8 is
-- skipped by the map.
local ROSTER = table.concat({
  "id,first,last,email,dept",
  "1234599,Ada,Lovelace,ada@example.org,12",
  '1234600,Zoë,"Smith, Jr.",zoe@example.org,12a',
  '1234601,Bad"Quote,x,y@example.org,1',
  "abc,Grace,Hopper,grace@example.org,3",
  "1234602,Alan,Turing,alan@example.org,7",
  "1234603,RAISE,x,x@example.org,1",
  "1234604,SKIP,x,x@example.org,1",
  "",
}, "\n")

local GOOD_ROSTER = "id,first,last,email,dept\n" ..
  "1234599,Ada,Lovelace,ada@example.org,12\n" ..
  "1234602,Alan,Turing,alan@example.org,7\n"

local MAP = [[
return function(row, vendor)
  assert(vendor == "questionpro", "vendor passed to the map")
  if row.first == "SKIP" then return nil end
  if row.first == "RAISE" then error("no such department") end
  local dept = row.dept:match("^%d+$") and tonumber(row.dept) or row.dept
  return row.id, { first_name = row.first, last_name = row.last,
                   email = row.email, departmentID = dept }
end]]

describe("userupd --help", function()
  it("describes the commands", function()
    local r = run({ "--help" })
    assert.equal(0, r.rc)
    assert.matches("Usage: userupd", r.out, 1, true)
    assert.matches("apply", r.out, 1, true)
    assert.matches("failures", r.out, 1, true)
    assert.equal("", r.err)
  end)

  it("lists every apply flag and where credentials come from", function()
    local r = run({ "apply", "--help" })
    assert.equal(0, r.rc)
    for _, flag in ipairs({ "--input FILE", "--map MAP.lua", "--journal FILE",
                            "--concurrency N", "--rate R", "--base-url URL",
                            "--config FILE", "--dry-run", "--no-progress",
                            "--format", "VENDOR", "USERUPD_<VENDOR>_<OPTION>" }) do
      assert.matches(flag, r.out, 1, true)
    end
  end)

  it("lists the failures flags", function()
    local r = run({ "failures", "--help" })
    assert.equal(0, r.rc)
    assert.matches("--journal FILE", r.out, 1, true)
    assert.matches("--format {csv,jsonl,input}", r.out, 1, true)
    assert.matches("--prune", r.out, 1, true)
  end)

  it_module("prints the version", function()
    local r = run({ "--version" })
    assert.equal(0, r.rc)
    assert.matches("^userupd %d+%.%d+%.%d+", r.out)
  end)
end)

describe("usage errors exit 2", function()
  it("without a command", function()
    local r = run({})
    assert.equal(2, r.rc)
    assert.matches("a command is required", r.err, 1, true)
  end)

  it("on an unknown flag", function()
    local r = run({ "apply", "questionpro", "--api-key", "x" })
    assert.equal(2, r.rc)
    assert.matches("unknown option '--api-key'", r.err, 1, true)
  end)

  it("without --input or --map", function()
    local r = run({ "apply", "questionpro", "--map", "m.lua" })
    assert.equal(2, r.rc)
    assert.matches("missing --input FILE", r.err, 1, true)
    r = run({ "apply", "questionpro", "--input", "x.csv" })
    assert.equal(2, r.rc)
    assert.matches("missing --map MAP.lua", r.err, 1, true)
  end)

  it("on a bad --concurrency or --rate", function()
    local r = run({ "apply", "questionpro", "--concurrency", "0" })
    assert.equal(2, r.rc)
    -- the flag named, with its range (88fc844: count flags say both)
    assert.matches("--concurrency: expected a whole number from 1 to 256, " ..
                   "got '0'", r.err, 1, true)
    r = run({ "apply", "questionpro", "--rate", "fast" })
    assert.equal(2, r.rc)
    assert.matches("got 'fast'", r.err, 1, true)
  end)

  it("for failures without --journal", function()
    local r = run({ "failures" })
    assert.equal(2, r.rc)
    assert.matches("missing --journal FILE", r.err, 1, true)
  end)
end)

describe("configuration errors exit 2", function()
  local map, roster
  setup(function()
    map, roster = file(MAP, ".lua"), file(GOOD_ROSTER, ".csv")
  end)

  it_module("on an unknown vendor, listing the known ones", function()
    local r = run({ "apply", "nosuchvendor", "--input", roster, "--map", map,
                    env = QP_KEY })
    assert.equal(2, r.rc)
    assert.matches("unknown vendor 'nosuchvendor'", r.err, 1, true)
    assert.matches("questionpro", r.err, 1, true)
  end)

  it_module("on a missing input file or map", function()
    local r = run({ "apply", "questionpro", "--input", "/nonexistent/u.csv",
                    "--map", map, env = QP_KEY })
    assert.equal(2, r.rc)
    assert.matches("/nonexistent/u.csv", r.err, 1, true)
    r = run({ "apply", "questionpro", "--input", roster,
              "--map", "/nonexistent/map.lua", env = QP_KEY })
    assert.equal(2, r.rc)
    assert.matches("/nonexistent/map.lua", r.err, 1, true)
  end)

  it_module("when the map does not return a function", function()
    local r = run({ "apply", "questionpro", "--input", roster,
                    "--map", file("return 42", ".lua"), env = QP_KEY })
    assert.equal(2, r.rc)
    assert.matches("must return a function(row, vendor), got number", r.err,
                   1, true)
  end)

  it_module("when the input format is unknown", function()
    local r = run({ "apply", "questionpro", "--input", file("x", ".txt"),
                    "--map", map, env = QP_KEY })
    assert.equal(2, r.rc)
    assert.matches("--format csv|jsonl", r.err, 1, true)
  end)

  it_module("on a missing credential, naming the variable to set", function()
    local r = run({ "apply", "questionpro", "--input", roster, "--map", map,
                    "--dry-run" })
    assert.equal(2, r.rc)
    assert.matches("USERUPD_QUESTIONPRO_API_KEY", r.err, 1, true)
    assert.equal("", r.out)
    r = run({ "apply", "formsonfire", "--input", roster, "--map", map,
              "--dry-run", env = { USERUPD_FORMSONFIRE_INTEGRATION_KEY = SECRET } })
    assert.equal(2, r.rc)
    assert.matches("USERUPD_FORMSONFIRE_COMPANY_ID", r.err, 1, true)
    assert.not_matches(SECRET, r.err, 1, true)
  end)

  it_module("on a non-integer integer option, without its value", function()
    local r = run({ "apply", "formsonfire", "--input", roster, "--map", map,
                    "--dry-run", env = {
                      USERUPD_FORMSONFIRE_COMPANY_ID = "12x" .. SECRET,
                      USERUPD_FORMSONFIRE_INTEGRATION_KEY = SECRET } })
    assert.equal(2, r.rc)
    assert.matches("USERUPD_FORMSONFIRE_COMPANY_ID must be a whole number",
                   r.err, 1, true)
    assert.not_matches(SECRET, r.err .. r.out, 1, true)
  end)

  it_module("when the client refuses its options", function()
    local r = run({ "apply", "blackbaud", "--input", roster, "--map", map,
                    "--dry-run", "--base-url", "http://127.0.0.1:9" })
    assert.equal(2, r.rc)
    assert.matches("cannot set up the blackbaud client", r.err, 1, true)
    assert.matches("USERUPD_BLACKBAUD_TOKEN", r.err, 1, true)
  end)
end)

describe("apply --dry-run", function()
  local map
  setup(function() map = file(MAP, ".lua") end)

  it_module("prints redacted requests and exits 0 when all rows are valid",
    function()
      local r = run({ "apply", "questionpro", "--input", file(GOOD_ROSTER, ".csv"),
                      "--map", map, "--dry-run", "--show-requests",
                      env = QP_KEY })
      assert.equal(0, r.rc)
      assert.matches("# line 2, id 1234599", r.out, 1, true)
      assert.matches("PUT https://api.questionpro.com/a/api/v2/users/1234599",
                     r.out, 1, true)
      assert.matches('"firstName":"Ada"', r.out, 1, true)
      assert.matches("# line 3, id 1234602", r.out, 1, true)
      assert.matches("dry run: 2 ready (2 new), 0 unchanged, 0 invalid, 0 " ..
                     "duplicate, 0 skipped by the map; nothing was sent",
                     r.out, 1, true)
      assert.not_matches(SECRET, r.out .. r.err, 1, true)
    end)

  it_module("prints invalid rows with line numbers and exits 1", function()
    local r = run({ "apply", "questionpro", "--input", file(ROSTER, ".csv"),
                    "--map", map, "--dry-run", "--show-requests",
                    "--strict-csv", env = QP_KEY })  -- line 4's quote refused
    assert.equal(1, r.rc)
    assert.matches("# line 2, id 1234599", r.out, 1, true)
    assert.matches("line 3: invalid: departmentID: ", r.err, 1, true)
    assert.matches("line 4: invalid: field 2 has a quote in the middle of " ..
                   "an unquoted field", r.err, 1, true)
    assert.matches("line 5: invalid: id: ", r.err, 1, true)
    assert.matches("# line 6, id 1234602", r.out, 1, true)
    assert.matches("line 7: invalid: map: .*no such department", r.err)
    assert.matches("dry run: 2 ready (2 new), 0 unchanged, 4 invalid, 0 " ..
                   "duplicate, 1 skipped", r.out, 1, true)
    assert.matches("invalid rows at lines: 3, 4, 5, 7", r.out, 1, true)
    assert.not_matches(SECRET, r.out .. r.err, 1, true)
  end)

  it_module("reads JSON Lines, bad lines counted as invalid", function()
    local jsonl = file(table.concat({
      '{"id":"1234599","first":"Ada","last":"L","email":"a@example.org","dept":"4"}',
      "",
      "{not json",
      "[1,2]",
      "42",
      '{"id":"1234602","first":"Alan","last":"T","email":"t@example.org","dept":"5"}',
    }, "\n"), ".jsonl")
    local r = run({ "apply", "questionpro", "--input", jsonl, "--map", map,
                    "--dry-run", "--show-requests", env = QP_KEY })
    assert.equal(1, r.rc)
    assert.matches("# line 1, id 1234599", r.out, 1, true)
    assert.matches("line 3: invalid: bad JSON", r.err, 1, true)
    assert.matches("line 4: invalid: not a JSON object", r.err, 1, true)
    assert.matches("line 5: invalid: not a JSON object", r.err, 1, true)
    assert.matches("# line 6, id 1234602", r.out, 1, true)
  end)

  it_module("takes options from --config, the environment winning", function()
    local config = file(("return { company_id = 1, integration_key = %q }")
                        :format(SECRET), ".lua")
    local map_ff = file([[return function(row)
      return "2ebc64a36a0d400d01234567" .. ("%08x"):format(row.id % 2^32),
             { first_name = row.first } end]],
      ".lua")
    local roster = file(GOOD_ROSTER, ".csv")
    local r = run({ "apply", "formsonfire", "--input", roster, "--map", map_ff,
                    "--dry-run", "--show-requests", "--config", config })
    assert.equal(0, r.rc)
    assert.matches('"CompanyId":1,', r.out, 1, true)
    r = run({ "apply", "formsonfire", "--input", roster, "--map", map_ff,
              "--dry-run", "--show-requests", "--config", config,
              env = { USERUPD_FORMSONFIRE_COMPANY_ID = "777" } })
    assert.equal(0, r.rc)
    assert.matches('"CompanyId":777,', r.out, 1, true)
    assert.not_matches(SECRET, r.out .. r.err, 1, true)
  end)
end)

describe("apply (sending)", function()
  -- Nothing listens on port 9 of the loopback: every request fails fast
  -- with a transport error, which exercises the real run without a server.
  local NOWHERE = "http://127.0.0.1:9"
  local map, config, journal
  setup(function()
    map = file(MAP, ".lua")
    config = file("return { retries = 0, connect_timeout = 2 }", ".lua")
    journal = os.tmpname()
    os.remove(journal)
    journal = journal .. ".journal"
    scratch[#scratch + 1] = journal
  end)

  it_module("reports each failure and invalid row, prints a summary, exits 1",
    function()
      local r = run({ "apply", "questionpro", "--input", file(ROSTER, ".csv"),
                      "--map", map, "--base-url", NOWHERE, "--config", config,
                      "--journal", journal, "--no-progress", "--strict-csv",
                      env = QP_KEY })
      assert.equal(1, r.rc)
      assert.matches("1234599: transport: ", r.err, 1, true)
      assert.matches("line 4: field 2 has a quote", r.err, 1, true)
      assert.matches("line 7: map: .*no such department", r.err)
      assert.matches("questionpro: ok 0, failed 2, invalid 4, unchanged 0, " ..
                     "skipped 1, duplicate 0 in ", r.out, 1, true)
      assert.matches("by kind: invalid 4, transport 2", r.out, 1, true)
      assert.not_matches(SECRET, r.out .. r.err, 1, true)
    end)

  it_module("lists the journal's failures as jsonl and csv", function()
    local r = run({ "failures", "--journal", journal })
    assert.equal(0, r.rc)
    assert.matches('{"id":"1234599","line":2,"state":"failed",' ..
                   '"kind":"transport","status":', r.out, 1, true)
    assert.matches('"payload":{', r.out, 1, true)
    assert.matches('"firstName":"Ada"', r.out, 1, true)
    r = run({ "failures", "--journal", journal, "--format", "csv" })
    assert.equal(0, r.rc)
    assert.matches("^id,line,state,kind,status,attempts,message,payload," ..
                   "time,run,cells\r\n",
                   r.out)
    assert.matches("1234602,6,failed,transport,", r.out, 1, true)
    assert.matches('""firstName"":""Alan""', r.out, 1, true)
    assert.not_matches(SECRET, r.out .. r.err, 1, true)
  end)

  it_module("exits 2 for a journal that does not exist", function()
    local r = run({ "failures", "--journal", "/nonexistent/j.journal" })
    assert.equal(2, r.rc)
    assert.matches("cannot open the journal", r.err, 1, true)
  end)
end)

teardown(function()
  for _, path in ipairs(scratch) do os.remove(path) end
end)
