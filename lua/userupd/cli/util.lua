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

-- How stderr lines look (--log-format, docs/cli.md):
--   text   2026-12-07T12:00:00Z questionpro: line 3: ... (each line)
--   json   {"time":"...","vendor":"questionpro","event":"log","msg":"..."}
--   plain  the text alone (and every line before the vendor is known)
-- encode is userupd.json_encode, set with the format.
util.log = { format = "plain", vendor = nil, encode = nil }

local function stamp()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

-- One JSON object, keys in a fixed order: time, vendor, event, msg, then
-- the members of extra (sorted), for a log shipper to parse.
local function json_record(text, event, extra)
  local enc = util.log.encode
  local parts = { '"time":' .. enc(stamp()),
                  '"vendor":' .. enc(util.log.vendor or ""),
                  '"event":' .. enc(event or "log"),
                  '"msg":' .. enc(text) }
  local keys = {}
  for k in pairs(extra or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    parts[#parts + 1] = enc(k) .. ":" .. enc(extra[k])
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- text as the log format writes it (without the final line break).
-- event and extra only show in json ("progress", { done = 12 }).
function util.log_text(text, event, extra)
  local lg = util.log
  if lg.format == "json" and lg.encode then
    return json_record(text, event, extra)
  elseif lg.format == "text" and lg.vendor then
    local prefix = stamp() .. " " .. lg.vendor .. ": "
    return prefix .. text:gsub("\n", "\n" .. prefix)
  end
  return text
end

-- The last guard of stderr: every control character but the line break
-- becomes a visible escape, as one_line does, whatever path a text from
-- outside took to get here (the progress line writes its own codes).
local function no_controls(s)
  return (s:gsub("[%z\1-\9\11-\31\127]", function(c)
    return c == "\t" and "\\t" or c == "\r" and "\\r" or
           ("\\x%02x"):format(c:byte())
  end):gsub("\194([\128-\159])", function(c)
    return ("\\u%04x"):format(c:byte())
  end))
end

function util.err_line(...)
  local around = util.around_err
  if around then around(false) end
  io.stderr:write(util.log_text(no_controls(table.concat({ ... }))), "\n")
  if around then around(true) end
end

-- A line with an event name and members for --log-format json.
function util.log_event(event, text, extra)
  local around = util.around_err
  if around then around(false) end
  io.stderr:write(util.log_text(text, event, extra), "\n")
  if around then around(true) end
end

-- Ctrl-C in the standalone interpreter raises "interrupted!" from a hook
-- wherever Lua code runs, possibly inside a pcall that guards one row:
-- re-raised here, it ends the command (exit 130) instead of a row.
function util.pass_interrupt(ok, e)
  if not ok and type(e) == "string" and (e:find("interrupted!$") or
                                          e:find("terminated!$")) then
    error(e, 0)
  end
end

-- update_many's error e: a journal that another run holds, or that was
-- written for another account or endpoint, is refused before any row is
-- read (pulled false): a usage error, exit 2.  Anything else goes on up
-- as it was raised.
function util.journal_refused(e, pulled)
  local msg = not pulled and type(e) == "string" and
              e:match("^userupd: (journal .*)$")
  if msg then util.fail("%s", msg) end
  error(e, 0)
end

-- s with every occurrence of the plain text what replaced by with.
function util.replace_plain(s, what, with)
  if what == "" then return s end
  local out, i = {}, 1
  while true do
    local a, b = s:find(what, i, true)
    if not a then break end
    out[#out + 1] = s:sub(i, a - 1)
    out[#out + 1] = with
    i = b + 1
  end
  out[#out + 1] = s:sub(i)
  return table.concat(out)
end

-- 2000 -> "2,000"
function util.thousands(n)
  local s = tostring(math.floor(n))
  local head, digits = s:match("^(%-?)(%d+)$")
  if not digits then return s end
  digits = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return head .. digits:gsub("^,", "")
end

-- Levenshtein distance between a and b (short names only).
local function distance(a, b)
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end

-- The candidate a person most likely meant by name, or nil: first one
-- that differs only in case and surrounding spaces ("id " for "id"), else
-- the nearest within a third of the name's length (2 edits at least).
function util.nearest(name, candidates)
  local key = tostring(name):lower():match("^%s*(.-)%s*$")
  local best, best_d
  for _, c in ipairs(candidates) do
    local ck = tostring(c):lower():match("^%s*(.-)%s*$")
    if ck == key and c ~= name then return c end
    if #key <= 64 and #ck <= 64 then
      local d = distance(key, ck)
      if d > 0 and (not best_d or d < best_d) then best, best_d = c, d end
    end
  end
  if best_d and best_d <= math.max(2, math.floor(#key / 3)) then
    return best
  end
  return nil
end

-- "QuestionPro's", but "Thought Industries'" (a name ending in s).
function util.possessive(name)
  return name .. (name:find("s$") and "'" or "'s")
end

-- A duration for people: "45 s", "7 min", "1 h 05 min".
function util.duration(secs)
  if secs ~= secs or secs < 0 then secs = 0 end   -- NaN too
  -- beyond this %d has no integer to print (a pace of 1e-300/s)
  if secs >= 3.6e8 then return "100,000+ h" end
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

-- Words Lua's own messages quote that are never text from the file.
local GRAMMAR = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while <eof> <name>
  <string> <number> <integer> ... .. :: == ~= <= >= << >> //]]):gmatch("%S+")
do GRAMMAR[w] = true end

-- A loader's message with the file's text taken out: Lua quotes the token
-- it stopped at ("unfinished string near '"qp-LIVE-...'"), and that token
-- may be a credential.  Keeps the grammar words and one-character symbols
-- Lua quotes ("'=' expected"), drops the rest.
local function without_text(msg)
  msg = msg:gsub("%s+near%s.*$", "")
  return (msg:gsub("'([^']*)'", function(q)
    if GRAMMAR[q] or q:match("^%p$") then return nil end
    return "'...'"
  end))
end

-- A --config or --map file that Lua could not load (raised false), or
-- that raised while it ran (raised true): "<option> <file>: line <n>:
-- <what is wrong>", never the file's text.  A message the file raised
-- itself is shown only with keep_raised (the map's author wrote it; a
-- --config file holds credentials, so its own messages are not shown).
function util.load_error(option, path, why, raised, keep_raised)
  why = tostring(why)
  local line, msg = why:match("^.-:(%d+): (.*)$")
  local where = ("%s %s: "):format(option, path)
  if line then where = where .. ("line %s: "):format(line) end
  msg = msg or why
  if raised and not (msg:find("^attempt to ") or msg:find("^bad argument "))
  then
    if not keep_raised then
      msg = "raised an error (its text is not shown: the file may hold " ..
            "credentials)"
    end
  else
    msg = without_text(msg)
  end
  return util.one_line(where .. msg)
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
