-- userupd.cli.refused: every row a real run refuses, kept in the journal
-- for `userupd failures`: its input line, id (when it had one), kind,
-- reason and cells.  Rows refused before anything could be sent (a map
-- that raised, a short row, an id like "N/A", a duplicate) have no other
-- place: the journal's records are keyed by a valid id.  The list is the
-- last run's: a row fixed in the input, or gone from it, leaves it.
--
-- Cells of columns that look like secrets (password, pw, token, key,
-- secret), of columns the map was seen to send as a secret field (learned
-- from every mapped row, so a row refused before the column was learned
-- is redacted too: cells are encoded when the run ends), and any text of
-- those cells inside a reason (a map's error quoting the cell) are stored
-- as [redacted]: the journal never holds a credential or a password.
local util = require "userupd.cli.util"

local refused = {}

refused.REDACTED = "[redacted]"

local SECRET_COLUMN = { "pass", "secret", "token", "key", "pwd" }

local SECRET_NAME = { pw = true, pin = true }

local function secret_column(name)
  local n = tostring(name):lower()
  if SECRET_NAME[n] then return true end
  for _, w in ipairs(SECRET_COLUMN) do
    if n:find(w, 1, true) then return true end
  end
  return false
end

local Collector = {}
Collector.__index = Collector

-- The names of the vendor's secret fields, from its field_info.
local function secret_names(info)
  local list = {}
  for name, fi in pairs(info) do
    if type(fi) == "table" and fi.secret then list[#list + 1] = name end
  end
  return list
end

-- seen: the input's seen table (seen.columns, the CSV header).
-- The rows of the records the library holds are kept by line (held) until
-- their outcome comes: send.lua tells which were queued (update_many
-- says so when it pulls), so a refusal always finds its row's cells and
-- a row skipped as unchanged is never kept.
function refused.new(userupd, vendor, seen)
  local info = userupd.vendors[vendor].field_info or {}
  local names = secret_names(info)
  return setmetatable({ userupd = userupd, seen = seen, list = {},
    held = {},               -- line -> { row, secrets } of queued records
    cur_line = false,        -- the record the library pulled last: line,
    cur_row = false,         -- its input row
    cur_fields = false,      -- and the fields the map made of it
    info = info, secret_names = names,
    learning = #names > 0,   -- the vendor has secret fields to learn from
    secret_cols = {},        -- columns seen feeding a secret field
    started = os.time() }, Collector)
end

-- Shorter values are not taken out of reasons (a "1" would maim them).
refused.MIN_SECRET = 3

-- A row's cells as a table of column -> text (not yet redacted); raw is
-- a row table (keyed by column) or a list of values (a row with the wrong
-- number of fields).
function Collector:cells(row)
  if type(row) ~= "table" then return nil end
  local cols, t = self.seen.columns, {}
  local null = self.userupd.null
  local function put(name, v)
    if v == nil or v == null then v = "" end
    t[name] = tostring(v)
  end
  if cols and #row > 0 and rawget(row, cols[1]) == nil then
    for i, v in ipairs(row) do put(cols[i] or ("column " .. i), v) end
  elseif cols then
    for _, name in ipairs(cols) do put(name, rawget(row, name)) end
  else
    for k, v in pairs(row) do put(tostring(k), v) end
  end
  return t
end

-- Whether a cell is a secret: its column's name, a column seen feeding a
-- secret field, or a value the map sent as one in this row.
function Collector:is_secret(name, v, secrets)
  if v == "" then return false end
  return secret_column(name) or self.secret_cols[name] or
         (secrets ~= nil and secrets[v] == true)
end

-- The entry's cells as JSON text and its reason, secrets redacted.
function Collector:redacted(e)
  local reason, t = e.reason, nil
  if e.cells then
    t = {}
    for name, v in pairs(e.cells) do
      if self:is_secret(name, v, e.secrets) then
        t[name] = refused.REDACTED
        if #v >= refused.MIN_SECRET then
          reason = util.replace_plain(reason, v, refused.REDACTED)
        end
      else
        t[name] = v
      end
    end
  end
  local ok, text = pcall(self.userupd.json_encode, t)
  return (t and ok) and text or nil, reason
end

-- The secret cell values of one refused row taken out of text.
local function redact_entry(self, e, text)
  for name, v in pairs(e.cells or {}) do
    if #v >= refused.MIN_SECRET and self:is_secret(name, v, e.secrets) then
      text = util.replace_plain(text, v, refused.REDACTED)
    end
  end
  return text
end

-- Any secret cell value of the refused rows taken out of text (the
-- summary's by-reason table, --summary-json).
function Collector:redact(text)
  for _, e in ipairs(self.list) do text = redact_entry(self, e, text) end
  return text
end

-- The newest refused row's secret cells taken out of text: its stderr
-- line, printed as it is refused (a map's own error may quote a cell).
function Collector:redact_last(text)
  local e = self.list[#self.list]
  return e and redact_entry(self, e, text) or text
end

-- The values of the secret fields the map returned, to redact in cells.
function Collector:secret_values(fields)
  if type(fields) ~= "table" then return nil end
  local names, set = self.secret_names, nil
  for i = 1, #names do
    local v = rawget(fields, names[i])
    if type(v) == "string" and v ~= "" then
      set = set or {}
      set[v] = true
    end
  end
  return set
end

-- Learns which columns feed a secret field, from every mapped row (so a
-- row refused before the column was learned is redacted too).
function Collector:learn(row, fields)
  local secrets = self:secret_values(fields)
  if secrets and type(row) == "table" then
    for _, name in ipairs(self.seen.columns or {}) do
      local v = rawget(row, name)
      if type(v) == "string" and secrets[v] then
        self.secret_cols[name] = true
      end
    end
  end
end

-- The record the library pulls now: its line, row and fields.
function Collector:current(lineno, row, fields)
  self.cur_line, self.cur_row, self.cur_fields = lineno or false, row,
                                                 fields
end

-- The record pulled last was queued to be sent: its row is kept until
-- its outcome (release, or add when it is refused).
function Collector:hold()
  local line = self.cur_line
  if line then
    self.held[line] = { row = self.cur_row,
                        secrets = self:secret_values(self.cur_fields) }
  end
end

-- A queued record succeeded: its row is not needed any more (its outcome
-- may come before the next pull: then there is nothing left to hold).
function Collector:release(lineno)
  if not lineno then return end
  self.held[lineno] = nil
  if self.cur_line == lineno then self.cur_line = false end
end

-- The row (and its secret values) of the record at lineno the library
-- refuses, taken off the held rows; nil when it is not there.
function Collector:recall(lineno)
  if not lineno then return nil end
  local h = self.held[lineno]
  if h then
    self.held[lineno] = nil
    return h.row, h.secrets
  end
  if self.cur_line == lineno then
    self.cur_line = false
    return self.cur_row, self:secret_values(self.cur_fields)
  end
  return nil
end

function Collector:add(lineno, kind, reason, row, id, fields)
  local kept, secrets = self:recall(lineno)
  row = row or kept or nil
  secrets = secrets or self:secret_values(fields)
  self.list[#self.list + 1] = { line = lineno or 0,
    id = id ~= nil and util.one_line(id) or nil, kind = kind or "invalid",
    reason = util.one_line(reason), cells = self:cells(row),
    secrets = secrets }
end

-- The rows as record_run takes them, redacted now that every mapped row
-- has taught its secret columns.
function Collector:rows()
  local out = {}
  for i, e in ipairs(self.list) do
    local cells, reason = self:redacted(e)
    out[i] = { line = e.line, id = e.id, kind = e.kind, reason = reason,
               cells = cells }
  end
  return out
end

-- After the run: the run and its refused rows into the journal.  A
-- journal that cannot take them costs a warning, not the run's status.
function Collector:write(path, counts)
  local j, why = self.userupd.journal(path)
  if not j then return nil, why end
  local header
  if self.seen.columns then
    header = self.userupd.json_encode(self.seen.columns)
  end
  local ok, run, e = pcall(j.record_run, j, { started = self.started,
    finished = os.time(), stopped = counts.stopped, header = header,
    refused = self:rows() })
  j:close()
  if not ok then return nil, run end
  return run, e
end

return refused
