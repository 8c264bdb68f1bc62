-- userupd.cli.refused: every row a real run refuses, kept in the journal
-- for `userupd failures`: its input line, id (when it had one), kind,
-- reason and cells.  Rows refused before anything could be sent (a map
-- that raised, a short row, an id like "N/A", a duplicate) have no other
-- place: the journal's records are keyed by a valid id.  The list is the
-- last run's: a row fixed in the input, or gone from it, leaves it.
--
-- Cells of columns that look like secrets (password, pw, token, key, secret)
-- and cells holding a value the map sent in a secret field are stored as
-- [redacted]: the journal never holds a credential or a password.
local util = require "userupd.cli.util"

local refused = {}

refused.REDACTED = "[redacted]"
refused.RECENT = 4096            -- rows remembered for later refusals

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

-- seen: the input's seen table (seen.columns, the CSV header).
function refused.new(userupd, vendor, seen)
  return setmetatable({ userupd = userupd, seen = seen, list = {},
    recent = {}, info = userupd.vendors[vendor].field_info or {},
    started = os.time() }, Collector)
end

-- A row's cells in header order as a JSON object text; raw is a row table
-- (keyed by column) or a list of values (a row with the wrong number of
-- fields).  secrets: values to redact wherever they appear.
function Collector:cells(row, secrets)
  if type(row) ~= "table" then return nil end
  local cols, t = self.seen.columns, {}
  local null = self.userupd.null
  local function put(name, v)
    if v == nil or v == null then v = "" end
    v = tostring(v)
    if v ~= "" and (secret_column(name) or (secrets and secrets[v])) then
      v = refused.REDACTED
    end
    t[name] = v
  end
  if cols and #row > 0 and rawget(row, cols[1]) == nil then
    for i, v in ipairs(row) do put(cols[i] or ("column " .. i), v) end
  elseif cols then
    for _, name in ipairs(cols) do put(name, rawget(row, name)) end
  else
    for k, v in pairs(row) do put(tostring(k), v) end
  end
  local ok, text = pcall(self.userupd.json_encode, t)
  return ok and text or nil
end

-- The values of the secret fields the map returned, to redact in cells.
function Collector:secret_values(fields)
  if type(fields) ~= "table" then return nil end
  local set
  for name, v in pairs(fields) do
    local fi = self.info[name]
    if fi and fi.secret and type(v) == "string" and v ~= "" then
      set = set or {}
      set[v] = true
    end
  end
  return set
end

-- Every record handed on, so a later refusal (the library's) finds its
-- cells; only the last refused.RECENT are kept.
function Collector:remember(lineno, row, fields)
  if not lineno then return end
  self.recent[lineno] = { row = row, secrets = self:secret_values(fields) }
  self.recent[lineno - refused.RECENT] = nil
end

function Collector:add(lineno, kind, reason, row, id, fields)
  local r = self.recent[lineno]
  if r then
    row = row or r.row
    fields = fields or r.secrets
    self.recent[lineno] = nil
  end
  local secrets = fields and (r and r.secrets or self:secret_values(fields))
  self.list[#self.list + 1] = { line = lineno or 0,
    id = id ~= nil and util.one_line(id) or nil, kind = kind or "invalid",
    reason = util.one_line(reason), cells = self:cells(row, secrets) }
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
    refused = self.list })
  j:close()
  if not ok then return nil, run end
  return run, e
end

return refused
