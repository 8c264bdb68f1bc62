-- busted output handler (tools/runspecs: busted -o spec/support/tap.lua):
-- TAP as busted's own TAP handler prints it, except for skipped tests.  A
-- pending test passes as a skip only when spec/ALLOWED_SKIPS lists its
-- file, its full name and this Lua; any other skip is a failure, so a
-- test cannot pass by not running.
--   ok 7 - # SKIP allowed: json_encode 2^63 - 1 (needs 64-bit integers)
--   not ok 8 - cli runs a dry run
--   # unlisted skip (not in spec/ALLOWED_SKIPS for Lua 5.4): why it skipped
local pretty = require "pl.pretty"

local here = debug.getinfo(1, "S").source:match("^@(.*)/support/tap%.lua$")
local LIST = (here or "spec") .. "/ALLOWED_SKIPS"
local LUA = jit and "jit" or _VERSION:match("%d+%.%d+")

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- The list's entries for this Lua: { file, name, reason }.
local function load_list()
  local entries = {}
  local f = io.open(LIST, "r")
  if not f then return entries end
  for line in f:lines() do
    if not line:match("^%s*#") and line:match("%S") then
      local file, name, luas, reason = line:match(
        "^(.-)%s+|%s+(.-)%s+|%s+(.-)%s+|%s+(.+)$")
      if file and (" " .. luas .. " "):find(" " .. LUA .. " ", 1, true) then
        entries[#entries + 1] = { file = trim(file), name = trim(name),
                                  reason = trim(reason) }
      end
    end
  end
  f:close()
  return entries
end

-- The spec file a test lives in, as given on busted's command line.
local function file_of(element)
  local src = element and element.trace and element.trace.short_src or "?"
  return (src:gsub("^%./", ""))
end

local function one_line(s)
  return (tostring(s or ""):gsub("\n", " "))
end

return function()
  local busted = require "busted"
  local handler = require "busted.outputHandlers.base"()
  local allowed = load_list()
  local counter = 0

  local function say(s) io.write(s, "\n") end

  local function reason_for(file, name)
    for _, e in ipairs(allowed) do
      if e.file == file and e.name == name then return e.reason end
    end
  end

  local function show_failure(t)
    local message = t.message
    if message == nil then
      message = "Nil error"
    elseif type(message) ~= "string" then
      message = pretty.write(message)
    end
    say(("not ok %u - %s"):format(counter, t.name))
    local trace = t.element and t.element.trace
    if trace then
      say("# " .. tostring(trace.short_src) .. " @ " ..
          tostring(trace.currentline))
    end
    say("# Failure message: " .. message:gsub("\n", "\n# "))
  end

  local function show_pending(t)
    local name = t.name
    local file = file_of(t.element)
    local reason = reason_for(file, name)
    if reason then
      say(("ok %u - # SKIP allowed: %s (%s)"):format(counter, name, reason))
    else
      say(("not ok %u - %s"):format(counter, name))
      say(("# %s: unlisted skip (not in spec/ALLOWED_SKIPS for Lua %s): %s")
          :format(file, LUA, one_line(t.message or "pending")))
    end
  end

  handler.suiteReset = function()
    counter = 0
    return nil, true
  end

  handler.suiteEnd = function()
    say("1.." .. counter)
    io.flush()
    return nil, true
  end

  handler.testEnd = function(_, _, status)
    counter = counter + 1
    if status == "success" then
      say(("ok %u - %s"):format(counter,
                                handler.successes[#handler.successes].name))
    elseif status == "pending" then
      show_pending(handler.pendings[#handler.pendings])
    elseif status == "failure" then
      show_failure(handler.failures[#handler.failures])
    elseif status == "error" then
      show_failure(handler.errors[#handler.errors])
    end
    io.flush()
    return nil, true
  end

  handler.error = function(element)
    if element.descriptor ~= "it" then
      counter = counter + 1
      show_failure(handler.errors[#handler.errors])
    end
    io.flush()
    return nil, true
  end

  busted.subscribe({ "suite", "reset" }, handler.suiteReset)
  busted.subscribe({ "suite", "end" }, handler.suiteEnd)
  -- no cancelOnPending predicate: --suppress-pending cannot hide a skip
  busted.subscribe({ "test", "end" }, handler.testEnd)
  busted.subscribe({ "error" }, handler.error)
  return handler
end
