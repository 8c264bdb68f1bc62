-- userupd.cli.util: output helpers and the usage error the CLI unwinds with.
local util = {}

-- Usage and configuration errors unwind to cli.run as this table, so any
-- helper can stop the command with exit status 2 and a clear message.
util.Usage = {}

function util.fail(fmt, ...)
  error(setmetatable({ message = fmt:format(...) }, util.Usage), 0)
end

function util.out(...)
  io.stdout:write(...)
  io.stdout:write("\n")
end

-- Set by the progress line while it is drawn: it clears itself before an
-- error line and is redrawn after, so errors never land inside it.
util.around_err = nil

function util.err_line(...)
  local around = util.around_err
  if around then around(false) end
  io.stderr:write(...)
  io.stderr:write("\n")
  if around then around(true) end
end

-- Ctrl-C in the standalone interpreter raises "interrupted!" from a hook
-- wherever Lua code runs, possibly inside a pcall that guards one row:
-- re-raised here, it ends the command (exit 130) instead of a row.
function util.pass_interrupt(ok, e)
  if not ok and type(e) == "string" and e:find("interrupted!$") then
    error(e, 0)
  end
end

-- 2000 -> "2,000"
function util.thousands(n)
  local s = tostring(math.floor(n))
  local head, digits = s:match("^(%-?)(%d+)$")
  if not digits then return s end
  digits = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return head .. digits:gsub("^,", "")
end

-- A duration for people: "45 s", "7 min", "1 h 05 min".
function util.duration(secs)
  secs = math.floor(secs + 0.5)
  if secs < 60 then return ("%d s"):format(secs) end
  local mins = math.floor(secs / 60 + 0.5)
  if mins < 60 then return ("%d min"):format(mins) end
  return ("%d h %02d min"):format(math.floor(mins / 60), mins % 60)
end

-- Seconds since some fixed point, as precise as this Lua allows.
local ok, system = pcall(require, "system")
if ok and type(system) == "table" and system.gettime then
  util.now = system.gettime
else
  util.now = os.time
end

local NAMED = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

-- Text from outside (a vendor's message, an id or a value from the input)
-- as one printable line for a terminal or a one-line log: control
-- characters (C0, DEL, and C1 written as UTF-8) become visible escapes, so
-- no escape sequence, carriage return or line break gets through.
function util.one_line(s)
  s = tostring(s):gsub("[%z\1-\31\127]", function(c)
    return NAMED[c] or ("\\x%02x"):format(c:byte())
  end)
  return (s:gsub("\194([\128-\159])", function(c)
    return ("\\u%04x"):format(c:byte())
  end))
end

-- A module error as "field: message"; the field is named once, and
-- module messages often name it already.  One printable line: a vendor's
-- message may hold anything.
function util.describe_error(e)
  if type(e) ~= "table" then return util.one_line(e) end
  local msg = tostring(e.message or e)
  local field = e.field and tostring(e.field)
  if field and not msg:find(field, 1, true) then msg = field .. ": " .. msg end
  return util.one_line(msg)
end

return util
