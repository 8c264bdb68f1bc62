-- spec/cli/cli_input_spec.lua: what `userupd apply` reads from an input
-- file before anything is sent (issue 21 items 4 and 5), through
-- bin/userupd in a subprocess, as dry runs: no server is needed.
local util = require "support.util"

local ENV = "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./?.so;;'"
local scratch = {}

local function file(content, suffix)
  local base = os.tmpname()
  local path = base .. suffix
  local fh = assert(io.open(path, "wb"))
  fh:write(content)
  fh:close()
  scratch[#scratch + 1] = base
  scratch[#scratch + 1] = path
  return path
end

-- dry(vendor, csv text, map source, env) -> { rc, out, err }
local function dry(vendor, csv, map, env)
  local errfile = os.tmpname()
  local cmd = ("env -i PATH=\"$PATH\" %s %s lua5.4 bin/userupd apply %s " ..
               "--input %s --map %s --dry-run 2>%s </dev/null; " ..
               "echo \"::rc=$?\""):format(ENV, env, vendor,
    util.q(file(csv, ".csv")), util.q(file(map, ".lua")),
    errfile)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  local err = util.read_if(errfile) or ""
  os.remove(errfile)
  return { rc = tonumber(out:match("::rc=(%d+)")),
           out = out:gsub("::rc=%d+%s*$", ""), err = err }
end

local SM = "USERUPD_SMARTERMEASURE_USERNAME=k USERUPD_SMARTERMEASURE_PASSWORD=p"
local FOF = "USERUPD_FORMSONFIRE_COMPANY_ID=12 USERUPD_FORMSONFIRE_INTEGRATION_KEY=k"
local NUMERIC_MAP = "return function(row) return tonumber(row.id), " ..
                    "{ FirstName = row.first } end"
local STRING_MAP = "return function(row) return row.id, " ..
                   "{ FirstName = row.first } end"

describe("apply reads", function()
  it("a CSV with CR-only line ends (an old Mac export) row by row", function()
    local r = dry("smartermeasure",
                  "id,first\r100001,Ada\r100002,Bob\r\r100003,Cy\r",
                  NUMERIC_MAP, SM)
    assert.matches("3 ready", r.out, 1, true)
    assert.equal(0, r.rc)
  end)
end)

describe("apply's cell rules", function()
  it("leaves blank cells out and refuses a Windows-1252 cell by line",
    function()
      local r = dry("smartermeasure",
                    "id,first,last\n100001,Ada,\n100002,Jos\233,X\n",
                    "return function(row) return tonumber(row.id), " ..
                    "{ FirstName = row.first, LastName = row.last or " ..
                    "'absent' } end", SM .. " COLUMNS=2000")
      assert.matches("1 ready", r.out, 1, true)
      assert.matches("1 invalid", r.out, 1, true)
      assert.matches('line 3: invalid: column "first" is not valid UTF-8 ' ..
                     "(byte 4)", r.err, 1, true)
      assert.matches("Windows-1252", r.out .. r.err, 1, true)
    end)
end)

describe("apply's duplicate check compares ids as sent", function()
  it("100001, 100001.0 and 1.00001E+05 are one user", function()
    local r = dry("smartermeasure",
                  "id,first\n100001,Ada\n100001.0,Bob\n1.00001E+05,Cy\n" ..
                  "100002,Di\n", NUMERIC_MAP, SM)
    assert.matches("2 ready", r.out, 1, true)
    assert.matches("2 duplicate", r.out, 1, true)
    assert.matches("line 3: duplicate id 100001, first at line 2", r.err, 1,
                   true)
    assert.matches("line 4: duplicate id 100001, first at line 2", r.err, 1,
                   true)
    assert.equal(1, r.rc)
  end)

  it("a GUID in lower case and in upper case with dashes is one user",
    function()
      local r = dry("formsonfire",
                    "id,first\n2ebc64a36a0d400d9a1b2c3d4e5f6071,Ada\n" ..
                    "2EBC64A3-6A0D-400D-9A1B-2C3D4E5F6071,Bob\n" ..
                    "3ebc64a36a0d400d9a1b2c3d4e5f6071,Cy\n", STRING_MAP, FOF)
      assert.matches("2 ready", r.out, 1, true)
      assert.matches("1 duplicate", r.out, 1, true)
      assert.matches("line 3: duplicate id 2ebc64a36a0d400d9a1b2c3d4e5f6071, " ..
                     "first at line 2", r.err, 1, true)
    end)

  it("big integer ids that differ stay two users", function()
    local r = dry("smartermeasure",
                  "id,first\n9007199254740993,Ada\n9007199254740992,Bob\n",
                  "return function(row) return math.tointeger(" ..
                  "tonumber(row.id)) or row.id, { FirstName = row.first } end",
                  SM)
    assert.matches("2 ready", r.out, 1, true)
    assert.matches("0 duplicate", r.out, 1, true)
  end)
end)

teardown(function()
  for _, path in ipairs(scratch) do os.remove(path) end
end)
