-- Refused rows grouped by reason, and the early stop (issue 23 #3): a
-- systematic mistake prints its first 3 rows and a count, the summary has
-- a by-reason table, a whole-file hint is printed once and repeated under
-- the summary, --max-invalid stops a run (before sending anything when
-- the first rows are the bad ones), and a map that returns no fields skips
-- the row.  Real child processes against the sandbox.
local sandbox = require "support.sandbox"
local util = require "support.util"

local LUA = util.lua()
local q = util.q

local clirun = require "support.clirun"
local tmp, write = clirun.tmp, clirun.write

-- The typo of the operator's report: departmentId for departmentID, set
-- only when the cell has a value (every 7th row has none: those are fine).
local TYPO = [[
return function(row)
  local f = { firstName = row.first }
  if row.dept then f.departmentId = tonumber(row.dept) end
  return tonumber(row.id), f
end]]

local function roster(n, blank_every)
  local t = { "id,first,dept" }
  for i = 1, n do
    local dept = (i % (blank_every or 7) == 0) and "" or tostring(i)
    t[#t + 1] = ("%d,First%d,%s"):format(8200 + i, i, dept)
  end
  return table.concat(t, "\n") .. "\n"
end

local function run(argv)
  local words = { "apply", "questionpro", "--input",
    write(tmp(argv.suffix or ".csv"), argv.csv), "--map",
    write(tmp(".lua"), argv.map or TYPO), "--base-url", sandbox.url(),
    "--rate", "0", "--log-format", "plain" }
  for _, a in ipairs(argv) do words[#words + 1] = a end
  for i, w in ipairs(words) do words[i] = q(w) end
  local err = tmp(".err")
  local cmd = ("for v in $(env | sed -n 's/^\\(USERUPD_[A-Za-z0-9_]*\\)=.*/" ..
    "\\1/p'); do unset \"$v\"; done; USERUPD_QUESTIONPRO_API_KEY=k %s " ..
    "bin/userupd %s 2>%s </dev/null; echo \"::rc=$?\"")
    :format(LUA, table.concat(words, " "), err)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return { rc = tonumber(out:match("::rc=(%d+)%s*$")),
           out = out:gsub("::rc=%d+%s*$", ""), err = util.read_if(err) or "" }
end

local function puts()
  local n = 0
  for _, c in pairs(sandbox.puts("questionpro")) do n = n + c end
  return n
end

local function count(s, plain)
  local n, at = 0, 1
  while true do
    local i = s:find(plain, at, true)
    if not i then return n end
    n, at = n + 1, i + #plain
  end
end

local REASON = "unknown field 'departmentId' (did you mean 'departmentID'?)"

describe("userupd apply, refused rows by reason", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  teardown(function()
    clirun.cleanup()
  end)

  it("a typo in the map: 3 rows, a count, and a stop before sending " ..
     "anything", function()
    local r = run{ csv = roster(60) }
    assert.are.equal(3, r.rc, r.err)  -- rows were read, nothing was sent
    assert.are.equal(0, puts())                   -- nothing was sent
    assert.are.equal(3, count(r.err, "invalid: " .. REASON), r.err)
    assert.matches("... and 15 more: " .. REASON, r.err, 1, true)
    assert.matches("stopped before sending anything: 18 of the 20 rows " ..
                   "read are invalid (--max-invalid 50%)", r.err, 1, true)
    assert.matches("by reason:\n *18  " .. REASON:gsub("%p", "%%%0"), r.out)
  end)

  it("--max-invalid 100% lets the run go on; every row counted", function()
    local r = run{ csv = roster(60), "--max-invalid", "100%" }
    assert.are.equal(1, r.rc, r.err)
    assert.are.equal(8, puts())                   -- the rows with no dept
    assert.are.equal(3, count(r.err, "invalid: " .. REASON))
    assert.matches("... and 49 more: " .. REASON, r.err, 1, true)
    assert.matches("ok 8, failed 0, invalid 52", r.out, 1, true)
    assert.matches("52  " .. REASON, r.out, 1, true)
  end)

  it("--max-invalid N counts rows; a bad value is a usage error", function()
    local r = run{ csv = roster(60), "--max-invalid", "3" }
    assert.are.equal(0, puts())
    assert.matches("4 of the 4 rows read are invalid (--max-invalid 3)",
                   r.err, 1, true)
    r = run{ csv = roster(3), "--max-invalid", "lots" }
    assert.are.equal(2, r.rc)
    assert.matches("expected a number of rows or a percentage", r.err, 1,
                   true)
  end)

  it("a good start is not stopped by a later bad stretch under the bound",
     function()
    -- rows 1-30 fine, then 10 bad ones: 10 of 40 is 25%, under 50%
    local t = { "id,first,dept" }
    for i = 1, 40 do
      t[#t + 1] = ("%d,F%d,%s"):format(8300 + i, i, i > 30 and "5" or "")
    end
    local r = run{ csv = table.concat(t, "\n") .. "\n" }
    assert.are.equal(1, r.rc, r.err)
    assert.are.equal(30, puts())
    assert.is_nil(r.err:find("stopped", 1, true), r.err)
  end)

  it("a dry run checks every row and says where a real run would stop",
     function()
    local r = run{ csv = roster(60), "--dry-run" }
    assert.are.equal(1, r.rc, r.err)
    assert.matches("52 invalid", r.out, 1, true)
    assert.matches("a real run would stop here: ", r.out, 1, true)
    assert.matches("... and 49 more: " .. REASON, r.err, 1, true)
  end)

  it("a Windows-1252 file: the iconv hint once, and again under the " ..
     "summary", function()
    local t = { "id,first" }
    for i = 1, 30 do t[#t + 1] = ("%d,Jos\233%d"):format(8400 + i, i) end
    local map = "return function(r) return tonumber(r.id), " ..
                "{ firstName = r.first } end"
    local r = run{ csv = table.concat(t, "\n") .. "\n", map = map,
                   "--max-invalid", "100%" }
    assert.are.equal(3, r.rc, r.err)                 -- nothing was sent
    assert.are.equal(1, count(r.err, "iconv -f WINDOWS-1252"), r.err)
    assert.are.equal(1, count(r.out, "iconv -f WINDOWS-1252"), r.out)
    assert.matches("hint: the file looks like Windows-1252", r.out, 1, true)
    assert.are.equal(3, count(r.err, ': column "first" is not valid UTF-8 ' ..
                              '(byte 4)'), r.err)
    assert.matches('... and 27 more: column "first" is not valid UTF-8',
                   r.err, 1, true)
  end)

  it("a row whose map returns no fields is skipped, not sent as {}",
     function()
    local map = "return function(r) return tonumber(r.id), " ..
      "{ firstName = r.first ~= '' and r.first or nil } end"
    local r = run{ csv = "id,first\n8501,Ann\n8502,\n8503,Cy\n", map = map }
    assert.are.equal(0, r.rc, r.err)
    assert.are.equal(2, puts())
    assert.matches("skipped 1", r.out, 1, true)
    assert.matches("skipped 1 rows whose map returned no fields", r.out, 1,
                   true)
  end)
end)
