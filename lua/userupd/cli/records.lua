-- userupd.cli.records: the map, and the stream of records it makes from
-- the rows, with every row accounted for: mapped, skipped by the map
-- (it returned nil), invalid, or a duplicate id.
--
-- Duplicate ids: the first row with an id is the one sent; a later row
-- with the same id is refused and reported with both line numbers.
local util = require "userupd.cli.util"

local fail = util.fail
local records = {}

-- MAP.lua returns function(row, vendor) -> id, fields and, optionally,
-- a table of options: { blank = "clear" } makes empty cells clear fields.
function records.load_map(path)
  local chunk, why = loadfile(path)
  if not chunk then
    if tostring(why):find("No such file", 1, true) then
      fail("no such file: %s (the --map)", path)
    end
    fail("%s", util.load_error("--map", path, why))
  end
  local ok, fn, opts = pcall(chunk)
  util.pass_interrupt(ok, fn)
  if not ok then fail("%s", util.load_error("--map", path, fn, true, true)) end
  if type(fn) ~= "function" then
    fail("--map %s must return a function(row, vendor), got %s",
         util.one_line(path), type(fn))
  end
  return fn, type(opts) == "table" and opts or {}
end

-- --blank=clear: the map saw "" for a blank cell; a field it returns as
-- "" is sent as null (userupd.null), which clears it at the vendor.  Only
-- the top level: a "" inside a list or object is the map's own value.
function records.clearing(map, null)
  return function(row, vendor)
    local id, fields, extra = map(row, vendor)
    if type(fields) == "table" then
      for k, v in pairs(fields) do
        if v == "" then fields[k] = null end
      end
    end
    return id, fields, extra
  end
end

-- Runs the mapping on one row.  Returns id, fields, extra; nil to skip
-- (nil, "empty" when the map returned no fields at all); or
-- false and a message.  An error in the mapping is the row's fault, not the
-- run's.  extra: members the vendor's descriptor lacks (client `extra`).
local function map_row(map, row, vendor)
  local ok, id, fields, extra = pcall(map, row, vendor)
  if not ok then
    util.pass_interrupt(ok, id)
    return false, "map: " .. tostring(id)
  end
  if id == nil or id == false then return nil end
  local t = type(id)
  if t ~= "number" and t ~= "string" then
    return false, ("map returned a %s id (number or string expected)"):format(t)
  end
  if type(fields) ~= "table" then
    return false, ("map returned %s fields (a table expected)")
      :format(type(fields))
  end
  if extra ~= nil and type(extra) ~= "table" then
    return false, ("map returned %s extra (a table of name = value expected)")
      :format(type(extra))
  end
  if next(fields) == nil and (extra == nil or next(extra) == nil) then
    return nil, "empty"          -- nothing to send: skipped, not sent as {}
  end
  return id, fields, extra
end

-- A repeated id: counted, reported with both lines, kept for the summary.
local function duplicate(counts, id, first, lineno, report)
  counts.duplicate = counts.duplicate + 1
  local list = counts.duplicates
  if #list < 20 then
    list[#list + 1] = ("%s (lines %d and %d)"):format(tostring(id), first,
                                                      lineno)
  end
  report(lineno, ("duplicate id %s, first at line %d: this row is refused " ..
                  "(the first one is sent)"):format(tostring(id), first))
end

-- The id as the vendor tells users apart, so the duplicate check compares
-- what goes on the wire: a number is its integer (100001, 100001.0 and
-- 1.00001E+05 read by tonumber are one user), a GUID or UUID is compared
-- without dashes and case.  A string for a numeric id is sent as written
-- (digits only, checked when the request is built).  kind: the vendor's
-- id kind (userupd.vendors[v].id).
local math_type = math.type

function records.id_key(kind, id)
  if type(id) == "number" then
    if math_type and math_type(id) == "integer" then return tostring(id) end
    if id == math.floor(id) and math.abs(id) < 2^53 then
      return ("%.0f"):format(id)
    end
    return tostring(id)
  end
  if kind == "guid" or kind == "uuid" then
    return (tostring(id):lower():gsub("%-", ""))
  end
  return tostring(id)
end

-- The ids seen so far in a Lua table, where the module has no idset:
-- add(key, line) returns the line the key was first seen at, or nil.
local function table_set()
  local first = {}
  local set = {}
  function set.add(_, key, line)
    key = tostring(key)                  -- an integer is its digits
    if first[key] then return first[key] end
    first[key] = line
  end
  function set.close() end
  return set
end

-- The vendor's id kind, and a set of the ids seen so far: the module's
-- idset (no Lua value per id: memory stays flat over any file), or a
-- table where the module has none.
local function id_kind_and_set(vendor)
  local ok, userupd = pcall(require, "userupd")
  ok = ok and type(userupd) == "table"
  local v = ok and userupd.vendors and userupd.vendors[vendor]
  local set = (ok and userupd.idset) and userupd.idset() or table_set()
  return type(v) == "table" and v.id or nil, set
end

-- A row the map skipped (why = "empty": it returned no fields).
local function skipped(counts, why)
  counts.skipped = counts.skipped + 1
  if why == "empty" then
    counts.skipped_empty = (counts.skipped_empty or 0) + 1
  end
end

-- A refused row, kept for `userupd failures` (a real run with a journal:
-- counts.refused, userupd.cli.refused).
local function keep(counts, lineno, kind, reason, row, id, fields)
  if counts.refused then
    counts.refused:add(lineno, kind, reason, row, id, fields)
  end
end

-- A row refused before the library saw it (map error, bad cell).
local function refused(counts, lineno, why, row)
  counts.invalid = counts.invalid + 1
  counts.by_kind.invalid = (counts.by_kind.invalid or 0) + 1
  counts.invalid_lines[#counts.invalid_lines + 1] = lineno
  keep(counts, lineno, "invalid", why, row)
end

-- Iterator over mapped records: id, fields, lineno, extra, row.  Bad rows go to
-- report(lineno, message, invalid) and rows the map skips are counted,
-- so the caller only sees what can be sent.  guard(read), when given, is
-- asked after each refused row (read: the rows read so far) and ends the
-- stream when it returns true (--max-invalid).
function records.stream(rows, map, vendor, counts, report, guard)
  local kind, ids = id_kind_and_set(vendor)
  local add, id_key, read = ids.add, records.id_key, 0
  counts.duplicates = counts.duplicates or {}
  return function()
    for row, lineno, why, raw in rows do
      local id, fields, extra = false, why, nil
      read = read + 1
      counts.read = read
      if row then id, fields, extra = map_row(map, row, vendor) end
      local first = id and add(ids, (math_type and math_type(id) ==
        "integer") and id or id_key(kind, id), lineno)  -- its digits: as
                                                        -- id_key, in C
      if id == nil then
        skipped(counts, fields)
      elseif id == false then
        refused(counts, lineno, fields, row or raw)
        report(lineno, fields, true)
        if guard and guard(read) then return nil end
      elseif first then
        duplicate(counts, records.id_key(kind, id), first, lineno, report)
        keep(counts, lineno, "duplicate", ("duplicate id, first at line %d")
          :format(first), row, id, fields)
      else
        local c = counts.refused
        if c and c.learning then c:learn(row, fields) end
        return id, fields, lineno, extra, row
      end
    end
    ids:close()
    return nil
  end
end

-- The first `window` records are checked with client:prepare before any
-- is handed on, so a file whose first rows are mostly invalid stops
-- before anything is sent (--max-invalid; the guard decides).  refuse
-- (lineno, id, err, row, fields) reports one.  After the window, records
-- pass through as they come (update_many checks them itself).
function records.checked(recs, client, window, refuse, guard)
  local held, i, open = {}, 0, false
  local function fill()
    local n = 0
    while n < window do
      local id, fields, lineno, extra, row = recs()
      if id == nil then return end
      n = n + 1
      local req, e = client:prepare(id, fields, { extra = extra })
      if req then
        held[#held + 1] = { id, fields, lineno, extra, row }
      elseif refuse(lineno, id, e, row, fields) then
        return true
      end
    end
    return guard()
  end
  return function()
    if not open then
      open = true
      if fill() then
        held = nil
        return nil                       -- stopped: nothing was handed on
      end
    end
    if held then
      i = i + 1
      local r = held[i]
      if r then return r[1], r[2], r[3], r[4], r[5] end
      held = nil                         -- the window is spent
    end
    return recs()
  end
end

return records
