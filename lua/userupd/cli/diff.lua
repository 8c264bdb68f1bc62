-- userupd.cli.diff: what a row would change, field by field, against a
-- baseline (the last payload that succeeded, from the journal, or the
-- vendor's current record for the live preview):
--
--   100010 emailAddress: "a@x.example" -> "b@x.example"
--
-- Values are shown as JSON, cut at util.shown's length; secret fields
-- (a password) are shown as [redacted] on both sides.  The first 20 rows
-- with a change are printed unless all = true.
local util = require "userupd.cli.util"

local out = util.out
local diff = {}

diff.ROWS = 20
diff.REDACTED = "[redacted]"
diff.ABSENT = "(absent)"

local Differ = {}
Differ.__index = Differ

-- opts.all: every row; opts.rows: how many (default diff.ROWS);
-- opts.absent: how a field missing from the baseline is shown.
function diff.new(userupd, vendor, opts)
  opts = opts or {}
  local info = userupd.vendors[vendor]
  return setmetatable({ userupd = userupd, info = info.field_info or {},
    order = info.fields or {}, rows = opts.all and math.huge or
    (opts.rows or diff.ROWS), absent = opts.absent or diff.ABSENT,
    shown = 0, more = 0 }, Differ)
end

-- A value as one short line of JSON.
function Differ:value(v)
  local ok, s = pcall(self.userupd.json_encode, v)
  s = ok and s or tostring(v)
  if #s > 60 then s = s:sub(1, 57) .. "..." end
  return util.one_line(s)
end

local function decode(userupd, text)
  if type(text) == "table" then return text end
  if not text then return nil end
  local ok, t = pcall(userupd.json_decode, text)
  return ok and type(t) == "table" and t or nil
end

-- The names of t in descriptor order, then the rest sorted.
function Differ:names(t)
  local names, seen = {}, {}
  for _, n in ipairs(self.order) do
    if t[n] ~= nil then names[#names + 1], seen[n] = n, true end
  end
  local rest = {}
  for k in pairs(t) do
    if not seen[k] then rest[#rest + 1] = tostring(k) end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do names[#names + 1] = k end
  return names
end

-- The changed fields of new against old: list of { name, old, new } as
-- text.  only: a set of names to compare (nil: every field of new).
function Differ:changes(new, old, missing)
  local list = {}
  for _, name in ipairs(self:names(new)) do
    local a, b = old and old[name], new[name]
    local secret = self.info[name] and self.info[name].secret
    local ta = a == nil and (missing and missing[name] or self.absent)
               or (secret and diff.REDACTED or self:value(a))
    local tb = secret and diff.REDACTED or self:value(b)
    if secret or a == nil or self:value(a) ~= self:value(b) then
      list[#list + 1] = { name, ta, tb }
    end
  end
  return list
end

-- One row: new and old are JSON text or tables; prints its changed fields
-- (or why it would be sent when none differs).  Returns the changes.
function Differ:row(id, why, new, old, missing)
  new, old = decode(self.userupd, new) or {}, decode(self.userupd, old)
  local list = self:changes(new, old, missing)
  if self.shown >= self.rows then
    self.more = self.more + 1
    return list
  end
  self.shown = self.shown + 1
  local head = util.one_line(id)
  if #list == 0 then
    out(("%s: no field differs%s"):format(head,
      why == "failed" and " (it failed before: sent again)" or ""))
  end
  for _, c in ipairs(list) do
    out(("%s %s: %s -> %s"):format(head, util.one_line(c[1]), c[2], c[3]))
  end
  return list
end

function Differ:finish()
  if self.more > 0 then
    out(("... and %s more rows that would be sent (--diff-all shows " ..
         "every row)"):format(util.thousands(self.more)))
  end
end

return diff
