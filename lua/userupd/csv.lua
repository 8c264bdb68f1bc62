-- userupd.csv: a streaming RFC 4180 reader and a row writer.
--
-- Debian ships no CSV library, so this is ours.  The reader pulls the file
-- in fixed-size chunks and keeps only the unread part of the current chunk
-- plus the record being parsed, so memory stays flat for any file size.
--
--   local reader, err = csv.open("roster.csv")
--   for row, lineno, err in reader:rows() do
--     if row then ... else print(err) end   -- row is false for a bad record
--   end
--
-- A bad record is yielded as `false, lineno, message` rather than
-- `nil, ...`: a nil first value would end the generic `for` loop, and the
-- caller is meant to count the bad record and carry on.
--
-- A quote inside an unquoted field (37°36'37.8"N) is taken literally, as
-- spreadsheet programs and Python's csv do.  Each row holding one is
-- counted (reader.stray_quote_rows, reader.first_stray_line) and, at the
-- end of the file, opts.warn(message) is called once.  opts.strict = true
-- refuses such a row as malformed instead (RFC 4180).

local csv = {}

local find, sub, byte = string.find, string.sub, string.byte
local concat = table.concat

local CHUNK = 64 * 1024

-- The record scanner in C (src/binding/csv_lua.c) when the module can be
-- loaded: the same records, line numbers and messages as the Lua one
-- below, several times faster.  opts.engine = "lua" keeps the Lua one.
local c_next
do
  local ok, userupd = pcall(require, "userupd")
  if ok and type(userupd) == "table" then c_next = userupd._csv_next end
end
local BOM = "\239\187\191"
local QUOTE = byte('"')

local Reader = {}
Reader.__index = Reader

-- Pattern that stops an unquoted field: the separator, a line end (LF,
-- CRLF, or a lone CR: old "CSV (Macintosh)" exports), or a quote (taken
-- as text and noted there, or refused in strict mode).
local function stop_pattern(sep)
  return "[" .. sep:gsub("%p", "%%%0") .. '\r\n"]'
end

-- Line ends inside a quoted field: CRLF counts once, LF and CR alone once.
local function count_newlines(s)
  local n, at = 0, find(s, "[\r\n]")
  while at do
    n = n + 1
    if byte(s, at) == 13 and byte(s, at + 1) == 10 then at = at + 1 end
    at = find(s, "[\r\n]", at + 1)
  end
  return n
end

-- Reads one more chunk, dropping what has been consumed already.
-- Returns false at end of input.
function Reader:more()
  if self.eof then return false end
  local chunk, err = self.fh:read(self.chunk)
  if not chunk then
    if err then error(err, 0) end -- e.g. a directory: report, don't hide
    self.eof = true
    return false
  end
  self.buf = sub(self.buf, self.pos) .. chunk
  self.pos = 1
  return true
end

-- True when at least n unread bytes are buffered (reading more if needed).
function Reader:fill(n)
  while #self.buf - self.pos + 1 < n do
    if not self:more() then return false end
  end
  return true
end

-- An unquoted field: up to the separator, the end of line or end of input.
-- A quote inside it is kept as text and noted (self.stray); in strict mode
-- the field is refused: nil.
function Reader:unquoted()
  local scanned = 0 -- bytes already searched, so a refill does not rescan
  while true do
    local at = find(self.buf, self.stop, self.pos + scanned)
    if at and byte(self.buf, at) == QUOTE then
      if self.strict then return nil end
      self.stray = true
      scanned = at - self.pos + 1
    elseif at then
      local text = sub(self.buf, self.pos, at - 1)
      self.pos = at
      return text
    else
      scanned = #self.buf - self.pos + 1
      if not self:more() then
        local text = sub(self.buf, self.pos)
        self.pos = #self.buf + 1
        return text
      end
    end
  end
end

-- A quoted field, starting at its opening quote.  Completed pieces are set
-- aside before each refill, so a long multi-line field costs linear time.
-- Returns the text, or nil when input ends before the closing quote.
function Reader:quoted()
  local parts = {}
  self.pos = self.pos + 1
  while true do
    local at = find(self.buf, '"', self.pos, true)
    if not at then
      parts[#parts + 1] = sub(self.buf, self.pos)
      self.pos = #self.buf + 1
      if not self:more() then return nil end
    elseif at == #self.buf and not self.eof then
      -- Cannot tell a closing quote from a doubled one yet: look further.
      parts[#parts + 1] = sub(self.buf, self.pos, at - 1)
      self.pos = at
      self:fill(2)
    elseif byte(self.buf, at + 1) == QUOTE then
      parts[#parts + 1] = sub(self.buf, self.pos, at)
      self.pos = at + 2
    else
      parts[#parts + 1] = sub(self.buf, self.pos, at - 1)
      self.pos = at + 1
      return concat(parts)
    end
  end
end

-- Consumes what follows a field.  Returns "next" after a separator, "end"
-- after a line end or at end of input, nil for anything else.
function Reader:after_field()
  if not self:fill(1) then return "end" end
  local c = sub(self.buf, self.pos, self.pos)
  if c == self.sep then
    self.pos = self.pos + 1
    return "next"
  elseif c == "\n" then
    self.pos = self.pos + 1
    self.line = self.line + 1
    return "end"
  elseif c == "\r" then
    self:skip_cr()
    return "end"
  end
  return nil
end

-- Consumes a line end that starts with CR: CRLF, or a lone CR.
function Reader:skip_cr()
  local crlf = self:fill(2) and byte(self.buf, self.pos + 1) == 10
  self.pos = self.pos + (crlf and 2 or 1)
  self.line = self.line + 1
end

-- After a malformed record, resume at the next physical line.
function Reader:skip_line()
  while true do
    local at = find(self.buf, "[\r\n]", self.pos)
    if at then
      self.pos = at
      if byte(self.buf, at) == 13 then return self:skip_cr() end
      self.pos = at + 1
      self.line = self.line + 1
      return
    end
    self.pos = #self.buf + 1
    if not self:more() then return end
  end
end

-- One field, with the line count kept up to date.  Returns the text, or
-- nil and the reason.
function Reader:field(index)
  if not self:fill(1) or byte(self.buf, self.pos) ~= QUOTE then
    local text = self:unquoted()
    if not text then
      return nil, ("field %d has a quote in the middle of an unquoted field "
        .. "(strict CSV; without it the quote is taken as text)"):format(index)
    end
    return text
  end
  local text = self:quoted()
  if not text then
    self.done = true -- the open quote swallowed the rest of the input
    return nil, ("field %d has a quote that is never closed"):format(index)
  end
  self.line = self.line + count_newlines(text)
  return text
end

-- Skips empty lines; returns false at end of input.
function Reader:skip_blank()
  while self:fill(1) do
    local c = sub(self.buf, self.pos, self.pos)
    if c == "\n" then
      self.pos, self.line = self.pos + 1, self.line + 1
    elseif c == "\r" then
      self:skip_cr()
    else
      return true
    end
  end
  return false
end

-- Parses one record into a list of strings.  Returns the list, or false
-- and a message for a malformed record.
function Reader:record()
  local fields = {}
  while true do
    local index = #fields + 1
    local text, why = self:field(index)
    if not text then
      if not self.done then self:skip_line() end
      return false, why
    end
    fields[index] = text
    local after = self:after_field()
    if after == "end" then return fields end
    if not after then
      self:skip_line()
      return false, ("field %d has text after its closing quote"):format(index)
    end
  end
end

-- Turns a list of values into a table keyed by header name, or explains
-- why the field count is off.
function Reader:keyed(fields)
  local header = self.header
  if #fields ~= #header then
    return nil, ("expected %d fields, got %d"):format(#header, #fields)
  end
  local row = {}
  for i = 1, #header do row[header[i]] = fields[i] end
  return row
end

-- Ctrl-C in the standalone interpreter raises "interrupted!" from a hook,
-- wherever Lua code runs (and SIGTERM "terminated!" once the command line
-- called userupd.catch_sigterm): it must end the program, not become a
-- bad row.
local function pass_interrupt(ok, e)
  if not ok and type(e) == "string" and (find(e, "interrupted!$") or
                                          find(e, "terminated!$")) then
    error(e, 0)
  end
end

-- Reads more for the C scanner: at least as much as is buffered, so a
-- record longer than a chunk is rescanned a logarithmic number of times.
function Reader:more_c()
  local chunk = self.chunk
  self.chunk = math.max(chunk, #self.buf - self.pos + 1)
  local ok, err = pcall(self.more, self)
  self.chunk = chunk
  if not ok then error(err, 0) end
end

-- parse_next through the C scanner; a fourth value true when the fields
-- come keyed by the header already.
function Reader:parse_c()
  while true do
    local kind, a, pos, lines, skipped, stray, swallowed = c_next(self.buf,
      self.pos, self.eof, self.sep, self.strict, self.header, self.cells)
    if kind == "more" then
      self:more_c()
    elseif kind == "end" then
      return nil
    else
      local start = self.line + skipped
      self.pos, self.line = pos, self.line + lines
      if stray then self:note_stray(start) end
      if kind == "row" then return a, start, nil, self.header ~= nil end
      self.done = swallowed
      return false, start, a
    end
  end
end

-- Parses the next record after any blank lines.  Returns fields, start
-- line; nil at the end; or false, start line, reason.  Never raises (but
-- for Ctrl-C): an I/O or memory error becomes a reason and ends the input.
function Reader:parse_next()
  if self.done then return nil end
  if self.c_next then
    local ok, fields, start, why, keyed = pcall(self.parse_c, self)
    pass_interrupt(ok, fields)
    if ok then return fields, start, why, keyed end
    self.done = true
    return false, self.line, tostring(fields)
  end
  local ok, more = pcall(self.skip_blank, self)
  pass_interrupt(ok, more)
  if not ok then
    self.done = true
    return false, self.line, tostring(more)
  end
  if not more then return nil end
  local start = self.line
  local fields, why
  self.stray = false
  ok, fields, why = pcall(self.record, self)
  pass_interrupt(ok, fields)
  if self.stray then self:note_stray(start) end
  if not ok then
    self.done = true
    return false, start, tostring(fields)
  end
  return fields, start, why
end

-- Counts a row that held a quote inside an unquoted field.
function Reader:note_stray(lineno)
  self.stray_quote_rows = self.stray_quote_rows + 1
  self.first_stray_line = self.first_stray_line or lineno
end

-- The one warning about stray quotes in this file, or nil when none.
function Reader:stray_warning()
  local n = self.stray_quote_rows
  if n == 0 then return nil end
  return ("%d row%s (the first at line %d) had a quote inside an unquoted "
    .. "field; it was taken as text, as spreadsheets do (--strict-csv "
    .. "refuses such rows)"):format(n, n == 1 and "" or "s",
                                    self.first_stray_line)
end

-- The next row as `row, lineno` or `false, lineno, message`; nil at the end.
function Reader:next_row()
  local fields, start, why, keyed = self:parse_next()
  if fields == nil then return nil end
  local row
  if keyed and #fields == 0 then
    row = fields                       -- keyed by the C scanner
  elseif fields then
    row, why = self:keyed(fields)
  end
  if not row then                      -- the fields too, when parsed
    return false, start, ("line %d: %s"):format(start, why), fields or nil
  end
  return row, start
end

-- Iterator for a generic `for`: row, lineno (row is false on a bad record,
-- with the message as a third value).  At the end the reader closes
-- itself, so a loop run to completion leaves no file open.
-- With the C scanner and a header, a keyed row comes straight from one
-- scan (issue 22: the layers of parse_next cost more than the scan); any
-- other answer (more input needed, a bad record or count, the end) goes
-- the general way, which scans again from the same position.
function Reader:rows()
  local fast = self.c_next and self.header and not self.done
  return function()
    if fast and not self.closed and not self.done then
      local kind, row, pos, lines, skipped, stray = c_next(self.buf,
        self.pos, self.eof, self.sep, self.strict, self.header, self.cells)
      if kind == "row" and row[1] == nil then   -- keyed: the count is right
        local start = self.line + skipped
        self.pos, self.line = pos, self.line + lines
        if stray then self:note_stray(start) end
        return row, start
      end
    end
    if self.closed then return nil end
    local row, lineno, why, fields = self:next_row()
    if row == nil then
      self:close()
      local w = self:stray_warning()
      if w and self.warn then self.warn(w) end    -- once: closed from here
    end
    return row, lineno, why, fields
  end
end

-- Closes the file if the reader opened it (a caller's handle stays open).
function Reader:close()
  if self.closed then return end
  self.closed = true
  if self.owns_fh then self.fh:close() end
end

-- opts.cells = { drop_empty = true, utf8 = true }: work the CLI asks of
-- the C scanner, done while it keys each row: empty cells left out of the
-- row, and a record with a cell that is not UTF-8 refused ('column "name"
-- is not valid UTF-8 (byte n)').  reader.cells_done says whether the
-- scanner does it (the Lua scanner does not: the caller does it then).
function Reader:cell_rules(cells)
  if type(cells) ~= "table" or not self.c_next then return end
  self.cells = (cells.drop_empty and 1 or 0) + (cells.utf8 and 2 or 0)
  self.cells_done = true
end

-- Checks a header for empty and duplicate names.
local function check_header(names)
  local seen = {}
  for i, name in ipairs(names) do
    if name == "" then
      return nil, ("header: column %d has no name"):format(i)
    end
    if seen[name] then
      return nil, ('header: column %d repeats the name "%s" of column %d')
        :format(i, name, seen[name])
    end
    seen[name] = i
  end
  return true
end

-- Reads the header row (after a UTF-8 byte order mark, if any).
function Reader:read_header()
  local ok, bom = pcall(self.fill, self, 3)
  if ok and bom and sub(self.buf, self.pos, self.pos + 2) == BOM then
    self.pos = self.pos + 3
  end
  local names, lineno, why = self:parse_next()
  if names == nil then return nil, "no header row" end
  if not names then return nil, ("header (line %d): %s"):format(lineno, why) end
  ok, why = check_header(names)
  if not ok then return nil, why end
  self.header = names
  return true
end

local function check_sep(sep)
  if type(sep) ~= "string" or #sep ~= 1 or find(sep, '["\r\n]') then
    return nil, "sep must be one character, not a quote or a line end"
  end
  return sep
end

-- Opens a CSV file (a path or an open file handle) and reads its header.
-- opts: sep (default ","), chunk (read size in bytes, for tests), strict
-- (refuse a quote inside an unquoted field), warn (function(message),
-- called once at the end when rows held such quotes).
-- Returns a reader, or nil and a message.
function csv.open(source, opts)
  opts = opts or {}
  local sep, err = check_sep(opts.sep or ",")
  if not sep then return nil, err end
  if opts.warn ~= nil and type(opts.warn) ~= "function" then
    return nil, "warn must be a function"
  end
  local fh, owns = source, false
  if type(source) == "string" then
    fh, err = io.open(source, "rb")
    if not fh then return nil, err end
    owns = true
  end
  local self = setmetatable({
    fh = fh, owns_fh = owns, sep = sep, stop = stop_pattern(sep),
    chunk = opts.chunk or CHUNK, buf = "", pos = 1, line = 1, eof = false,
    strict = opts.strict and true or false, warn = opts.warn,
    stray_quote_rows = 0, c_next = opts.engine ~= "lua" and c_next or nil,
    cells = 0,
  }, Reader)
  local ok, msg = self:read_header()
  if not ok then
    self:close()
    return nil, msg
  end
  self:cell_rules(opts.cells)
  return self
end

-- Quotes a value when a reader would otherwise split or mangle it.
local function quote(value, sep)
  local s = value == nil and "" or tostring(value)
  if find(s, '["\r\n]') or find(s, sep, 1, true)
      or find(s, "^%s") or find(s, "%s$") then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

-- Writes one record with CRLF, as RFC 4180 asks.  A nil value is written
-- as ""; give list.n (table.pack style) when the list may have holes.
-- A cell a spreadsheet would run as a formula (CSV injection, OWASP):
-- text starting with =, +, -, @, a tab or a carriage return gets a leading
-- single quote, which spreadsheets show as text.  For exports meant to be
-- opened in one (`userupd failures --format csv`); numbers pass as they are.
function csv.neutralize(v)
  if type(v) == "string" and v:find("^[=+%-@\t\r]") then
    return "'" .. v
  end
  return v
end

function csv.write_row(fh, list, sep)
  sep = sep or ","
  local out = {}
  for i = 1, list.n or #list do out[i] = quote(list[i], sep) end
  return fh:write(concat(out, sep), "\r\n")
end

return csv
