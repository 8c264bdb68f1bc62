-- userupd.cli.input: the rows of a CSV or JSON Lines file, as the map
-- should see them.
--
-- Blank means absent: an empty CSV cell (and a JSON null) reaches the map
-- as nil, so the field is left out and the vendor keeps its value.  With
-- blank = "clear" it reaches the map as "" (a string, so the map's string
-- helpers keep working), and a field the map returns as "" is sent as
-- userupd.null, which clears it (records.clearing).  userupd.is_blank(v)
-- tells a blank cell in either mode.
-- Reads of columns the file does not have are noted (a misspelled
-- row["E-mail"] would otherwise drop a field without a word).
local csv = require "userupd.csv"
local util = require "userupd.cli.util"
local utf8check = require "userupd.cli.utf8check"

local fail = util.fail
local input = {}

local SPREADSHEET = { xlsx = true, xls = true, xlsm = true, ods = true,
                      numbers = true }

-- Fails with "no such file" (once) or the reason, before anything else.
local function check_readable(path)
  if path == "-" then return end
  local fh, why = io.open(path, "rb")
  if fh then return fh:close() end
  why = tostring(why)
  if why:find("No such file", 1, true) then fail("no such file: %s", path) end
  why = why:gsub("^" .. path:gsub("%p", "%%%0") .. ": ", "")
  fail("cannot read %s: %s", path, why:lower())
end

-- What the first bytes of a file say it is, when that is not text a row
-- could come from: a workbook or an archive saved under a .csv name, or
-- UTF-16 (Excel's "Unicode Text").  Read as CSV, such a file yields no
-- rows and the run would end "ok 0" with exit 0.
local MAGIC = {
  { "PK\3\4", "a spreadsheet, not a CSV file: save it as \"CSV UTF-8\" " ..
               "and pass that file" },
  { "\208\207\17\224", "an Excel workbook (.xls), not a CSV file: save " ..
                         "it as \"CSV UTF-8\" and pass that file" },
  { "\31\139", "gzip-compressed: unpack it first (gunzip)" },
  { "BZh", "bzip2-compressed: unpack it first (bunzip2)" },
  { "\253" .. "7zXZ", "xz-compressed: unpack it first (unxz)" },
  { "\255\254", "UTF-16 text: save it as \"CSV UTF-8\" (or iconv -f " ..
                "UTF-16 -t UTF-8)" },
  { "\254\255", "UTF-16 text: save it as \"CSV UTF-8\" (or iconv -f " ..
                "UTF-16 -t UTF-8)" },
}

local function check_text(path)
  local fh = path ~= "-" and io.open(path, "rb")
  if not fh then return end
  local head = fh:read(4096) or ""
  fh:close()
  for _, m in ipairs(MAGIC) do
    if head:sub(1, #m[1]) == m[1] then
      fail("%s is %s", util.one_line(path), m[2])
    end
  end
  if head:find("%z") then
    fail("%s holds NUL bytes: it is not a CSV or JSON Lines text file " ..
         "(a binary file, or UTF-16 without its mark)", util.one_line(path))
  end
end

function input.format(path, format)
  check_readable(path)
  check_text(path)
  if format then return format end
  local ext = path:match("%.(%w+)$")
  ext = ext and ext:lower()
  if ext == "csv" then return "csv" end
  if ext == "jsonl" or ext == "ndjson" then return "jsonl" end
  if SPREADSHEET[ext] then
    fail("%s is a spreadsheet, not a CSV file: save it as \"CSV UTF-8\" " ..
         "and pass that file", path)
  end
  fail("cannot tell the format of %s from its name; give --format csv|jsonl",
       path)
end

-- The row as the map sees it: blank values dropped (or clearing), and
-- reads of unknown columns noted in seen.missing.
-- One metatable per input, made on the first row (not a table and a
-- closure per row).
local function present(row, seen, known)
  local mt = seen.row_mt
  if not mt then
    mt = { __index = function(_, k)
      if type(k) == "string" and not known(k) and not seen.missing[k] then
        seen.missing[k] = true
        seen.missing[#seen.missing + 1] = k
        if seen.on_missing then seen.on_missing(k) end
      end
    end }
    seen.row_mt = mt
  end
  return setmetatable(row, mt)
end

-- Applies the blank rule and the UTF-8 check to one decoded row; returns
-- the row, or false and a message.
local function clean(row, blank, null)
  for k, v in pairs(row) do
    if v == "" or v == null then
      row[k] = blank == "clear" and "" or nil
    elseif type(v) == "string" then
      local ok, why = utf8check.check(v)
      if not ok then return false, ("column \"%s\" %s"):format(k, why) end
    end
  end
  return row
end

-- A one-line warning when the header looks like another separator.
local function check_sep(header, sep)
  if #header ~= 1 then return end
  local h = header[1]
  for _, s in ipairs({ ";", "\t", "|" }) do
    if s ~= sep and h:find(s, 1, true) then
      -- the header is the file's text: one printable line (5.1's %q
      -- passes escape sequences through)
      util.err_line(("warning: the header has one column, \"%s\", but " ..
        "holds %q: is the file separated by %q? try --sep '%s'"):format(
        util.one_line(h:sub(1, 40)), s, s, s == "\t" and "\\t" or s))
      return
    end
  end
end

-- Why a CSV file that yielded no rows is wrong, or nil when it holds no
-- more than a header: lines after the first (quoted text set aside, any
-- line end) that are not blank.  Reads at most the first MiB.
function input.no_rows_problem(path)
  local fh = path ~= "-" and io.open(path, "rb")
  if not fh then return nil end
  local text = fh:read(1024 * 1024) or ""
  fh:close()
  local n = 0
  for line in text:gsub('"[^"]*"?', '""'):gmatch("[^\r\n]+") do
    if line:find("%S") then n = n + 1 end
  end
  if n < 2 then return nil end
  return ("the file has %d lines after its header but no row was read " ..
          "from them; check its line ends and --sep"):format(n - 1)
end

-- A reader's warning, naming the file: one printable line (the path
-- is text from outside too).
local function warn_file(path, w)
  util.err_line(util.one_line("warning: " .. path .. ": " .. w))
end

-- The C scanner's message for a cell that is not UTF-8.
local UTF8_REFUSED = '^column ".*" is not valid UTF%-8 %(byte %d+%)$'

-- The CSV reader, its header's columns noted in seen: reader, is_known.
local function open_csv(path, opts, seen)
  -- the C scanner applies the blank rule and the UTF-8 check itself
  -- while it keys each row (reader.cells_done); else clean() does
  local reader, why = csv.open(path == "-" and io.stdin or path,
    { sep = opts.sep, strict = opts.strict_csv,
      warn = function(w) warn_file(path, w) end,
      cells = { drop_empty = opts.blank ~= "clear", utf8 = true } })
  if not reader then fail("cannot read %s: %s", path, why) end
  check_sep(reader.header, opts.sep or ",")
  local known = {}
  for _, name in ipairs(reader.header) do known[name] = true end
  seen.columns = reader.header
  local function is_known(k) return known[k] end
  seen.is_known = is_known
  return reader, is_known
end

local function csv_rows(path, opts, seen, null)
  local reader, is_known = open_csv(path, opts, seen)
  local rows, yielded, mt = reader:rows(), 0, nil
  local cells_done = reader.cells_done
  return function()
    local row, lineno, msg, fields = rows()
    yielded = yielded + 1
    if row and cells_done then           -- the common row, in few steps
      if mt then return setmetatable(row, mt), lineno end
      row = present(row, seen, is_known)
      mt = getmetatable(row)
      return row, lineno
    end
    if row == false then           -- fields: a short or long row's values
      msg = msg:gsub("^line %d+: ", "")
      if reader.cells_done and msg:find(UTF8_REFUSED) then
        msg = msg .. "; " .. utf8check.HINT
      end
      return false, lineno, msg, fields
    end
    if not row then
      local problem = yielded == 1 and input.no_rows_problem(path)
      if problem then return false, 2, problem end  -- an error, not 0 rows
      return nil
    end
    if not reader.cells_done then
      row, msg = clean(row, opts.blank, null)
      if not row then return false, lineno, msg end
    end
    return present(row, seen, is_known), lineno
  end
end

-- The end of the JSON string whose opening quote is at j (the index after
-- its closing quote), or nil.
local function string_end(line, j)
  local k = j + 1
  while true do
    local q = line:find('["\\]', k)
    if not q then return nil end
    if line:byte(q) == 92 then k = q + 2 else return q + 1 end
  end
end

-- A member name given twice in the line's top-level object, or nil (the
-- decoder keeps the last one silently; a row must not lose a value so).
local function duplicate_key(line)
  local depth, i, names = 0, 1, {}
  while true do
    local j, _, c = line:find('(["{}%[%]])', i)
    if not j then return nil end
    i = j + 1
    if c == '"' then
      i = string_end(line, j)
      if not i then return nil end
      if depth == 1 and line:find("^%s*:", i) then
        local name = line:sub(j + 1, i - 2)
        if names[name] then return name end
        names[name] = true
      end
    elseif c == "{" or c == "[" then
      depth = depth + 1
    else
      depth = depth - 1
    end
  end
end

-- A JSON Lines row: the object, or nil and why it cannot be one.
local function jsonl_object(userupd, line)
  if not line:find("^%s*{") then
    return nil, "not a JSON object (each line must be {...})"
  end
  local ok, value, err = pcall(userupd.json_decode, line)
  util.pass_interrupt(ok, value)
  if not ok or type(value) ~= "table" then
    return nil, "bad JSON: " .. tostring(ok and err or value)
  end
  local dup = duplicate_key(line)
  if dup then
    return nil, ("key '%s' given twice"):format(util.one_line(dup))
  end
  return value
end

-- JSON Lines: (object, lineno) or (false, lineno, message).  A key the map
-- reads counts as missing only when no line so far had it.
local function jsonl_rows(path, opts, seen, userupd)
  local fh, why = io.stdin, nil
  if path ~= "-" then fh, why = io.open(path, "rb") end
  if not fh then fail("cannot read %s", tostring(why)) end
  local lineno, keys, done = 0, {}, false
  seen.columns = {}
  local function is_known(k) return keys[k] end
  seen.is_known = is_known
  return function()
    if done then return nil end
    for line in fh:lines() do
      lineno = lineno + 1
      line = line:gsub("\r$", "")
      if line:find("%S") then
        local value, err = jsonl_object(userupd, line)
        if not value then return false, lineno, err end
        for k in pairs(value) do
          if not keys[k] then
            keys[k] = true
            seen.columns[#seen.columns + 1] = k
          end
        end
        local row, msg = clean(value, opts.blank, userupd.null)
        if not row then return false, lineno, msg end
        return present(row, seen, is_known), lineno
      end
    end
    done = true
    if fh ~= io.stdin then fh:close() end
    return nil
  end
end

-- rows iterator: row, lineno or false, lineno, message.  seen collects
-- the columns the map read that the file lacks (input.missing(seen)).
function input.open(path, format, opts, userupd, seen)
  seen.row_mt = nil                -- present() makes this input's own
  seen.missing = seen.missing or {}
  if format == "csv" then return csv_rows(path, opts, seen, userupd.null) end
  return jsonl_rows(path, opts, seen, userupd)
end

-- The columns the map read that the input never had, in reading order.
function input.missing(seen)
  local list = {}
  for _, k in ipairs(seen.missing or {}) do
    if not (seen.is_known and seen.is_known(k)) then
      list[#list + 1] = input.with_hint(seen, k)
    end
  end
  return list
end

-- A column the map read, with the file's own spelling when it has one
-- that differs in spacing or case (or by a typo): id (the file has "id ").
function input.with_hint(seen, k)
  local near = seen.columns and util.nearest(k, seen.columns)
  if not near then return k end
  return ("%s (did you mean %q?)"):format(k, util.one_line(near))
end

local EXACT_LIMIT = 32 * 1024 * 1024

-- Counts "\n" in a file, in chunks.
local function count_lines(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local n, last = 0, "\n"
  for chunk in function() return fh:read(1024 * 1024) end do
    local _, k = chunk:gsub("\n", "")
    n, last = n + k, chunk:sub(-1)
  end
  fh:close()
  return n + (last ~= "\n" and 1 or 0)
end

-- The number of rows, for the progress total: exact for a CSV file up to
-- 32 MiB (the reader runs once), else the line count (a CSV row may span
-- lines: then it is an estimate).  nil for standard input.
function input.count(path, format, opts)
  if path == "-" then return nil end
  local fh = io.open(path, "rb")
  local size = fh and fh:seek("end") or 0
  if fh then fh:close() end
  if format == "csv" and size <= EXACT_LIMIT then
    local reader = csv.open(path, { sep = opts.sep })
    if not reader then return nil end
    local n = 0
    for _ in reader:rows() do n = n + 1 end
    return n, false
  end
  local lines = count_lines(path)
  if not lines then return nil end
  return format == "csv" and math.max(lines - 1, 0) or lines, format == "csv"
end

return input
