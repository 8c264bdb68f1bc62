-- Usage and configuration errors never show a secret or a raw control
-- character (issue 21, items 9 and 18): a --config or --map file Lua
-- cannot load is reported by file, line and what is wrong, without the
-- token Lua quotes; every usage error reaches stderr through one_line.
-- bin/userupd runs in a subprocess from the repository root.
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
local KEY = "qp-LIVE-7f3a9c2e51d04b8a"

local scratch = {}
local function file(content, suffix)
  local path = os.tmpname() .. (suffix or "")
  util.write(path, content)
  scratch[#scratch + 1] = path
  return path
end

-- run{...} -> { rc, err }, with no USERUPD_ variables but the ones given.
local function run(argv, env)
  local words = {}
  for i, a in ipairs(argv) do words[i] = q(a) end
  local errfile = file("", ".err")
  local cmd = ("env -i %s %s timeout 60 " .. LUA .. " " ..
               "bin/userupd %s >/dev/null 2>%s </dev/null; echo \"rc=$?\"")
    :format(ENV, env or "", table.concat(words, " "), errfile)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return { rc = tonumber(out:match("rc=(%d+)")), err = util.read(errfile) }
end

local INPUT, MAP
local function apply(config, map, input, env)
  local argv = { "apply", "questionpro", "--input", input or INPUT, "--map",
                 map or MAP, "--dry-run" }
  if config then
    argv[#argv + 1] = "--config"
    argv[#argv + 1] = config
  end
  return run(argv, env)
end

-- No secret, no control character but the final line break.
local function clean(err)
  assert.is_nil(err:find(KEY, 1, true))
  assert.is_nil(err:find("7f3a9c2e", 1, true))
  assert.is_nil(err:sub(1, -2):find("[%z\1-\31\127]"))
end

describe("configuration and map load errors", function()
  setup(function()
    INPUT = file("id,first\n1,Ann\n", ".csv")
    MAP = file("return function(r) return r.id, { firstName = r.first } end",
               ".lua")
  end)
  teardown(function()
    for _, p in ipairs(scratch) do os.remove(p) end
  end)

  -- Each broken file quotes the key where Lua's loader stops.
  local BROKEN = {
    ["unfinished string"] = 'return {\n  api_key = "' .. KEY .. '\n}\n',
    ["a bare token"] = 'return {\n  api_key = ' .. KEY .. ' }\n',
    ["a long string"] = 'return {\n  api_key = [[' .. KEY .. '\n',
    ["a number"] = 'return {\n  api_key = 7f3a9c2e51d04b8a }\n',
  }
  if jit or _VERSION ~= "Lua 5.1" then    -- Lua 5.1 takes these escapes
    BROKEN["a bad escape"] = 'return {\n  api_key = "' .. KEY .. '\\q" }\n'
    BROKEN["a hex escape"] = 'return {\n  api_key = "' .. KEY ..
                             '\\xZZ" }\n'
  end
  for what, text in pairs(BROKEN) do
    it("--config with " .. what .. ": file and line, never the key",
       function()
      local path = file(text, ".lua")
      local r = apply(path)
      assert.equal(2, r.rc)
      clean(r.err)
      assert.matches("--config " .. path:gsub("%p", "%%%0") .. ": line %d",
                     r.err)
    end)
    it("--map with " .. what .. ": file and line, never the text",
       function()
      local path = file(text, ".lua")
      local r = apply(nil, path)
      assert.equal(2, r.rc)
      clean(r.err)
      assert.matches("--map .-: line %d", r.err)
    end)
  end

  it("--config that raises its own message does not show it", function()
    local r = apply(file('local k = "' .. KEY .. '"\nerror("bad " .. k)\n',
                         ".lua"))
    assert.equal(2, r.rc)
    clean(r.err)
    assert.matches(": line 2: raised an error", r.err, 1, true)
  end)

  it("--config that fails at run time names the line, not values", function()
    local r = apply(file('local k = "' .. KEY .. '"\nreturn k .. nil\n',
                         ".lua"))
    assert.equal(2, r.rc)
    clean(r.err)
    assert.matches("line 2: attempt to concatenate", r.err, 1, true)
  end)

  it("escape sequences in the file name and text stay visible escapes",
     function()
    local path = file("return {\n x = '\27]0;owned\7\n", "\27[31m.lua")
    local r = apply(path)
    assert.equal(2, r.rc)
    clean(r.err)
    assert.matches("\\x1b[31m.lua: line 2", r.err, 1, true)
  end)

  it("a repeated CSV header with escapes is one printable line", function()
    local input = file("id,\27]0;owned\7,\27]0;owned\7\n1,a,b\n", ".csv")
    local r = apply(nil, nil, input, "USERUPD_QUESTIONPRO_API_KEY=k")
    assert.equal(2, r.rc)
    clean(r.err)
    assert.matches("\\x1b]0;owned\\x07", r.err, 1, true)
  end)

  it("warns when SSLKEYLOGFILE is set (issue 21 item 11)", function()
    local r = apply(nil, nil, nil, "USERUPD_QUESTIONPRO_API_KEY=k " ..
                    "SSLKEYLOGFILE=/tmp/userupd-keys.log")
    assert.matches("warning: SSLKEYLOGFILE is set: libcurl writes this " ..
                   "run's TLS session keys to /tmp/userupd-keys.log", r.err,
                   1, true)
    r = apply(nil, nil, nil, "USERUPD_QUESTIONPRO_API_KEY=k")
    assert.is_nil(r.err:find("SSLKEYLOGFILE", 1, true))
  end)

  it("an unknown option with escapes is one printable line", function()
    local r = run({ "apply", "questionpro", "--\27]0;x\7" })
    assert.equal(2, r.rc)
    assert.is_nil(r.err:sub(1, -2):find("[%z\1-\8\11-\31\127]"))
  end)
end)
