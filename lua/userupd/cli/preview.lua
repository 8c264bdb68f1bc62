-- userupd.cli.preview: the live preview.  For a sample of the rows a run
-- would send, read the vendor's current record (client:get) and show
-- what the run would change there, field by field:
--
--   userupd diff VENDOR --input F --map M [--journal J] [--sample N]
--   userupd apply VENDOR ... --dry-run --against-vendor N
--
-- It says beforehand how many reads it makes; each read goes through the
-- client like any call: its rate, the shared budget and the daily quota
-- count it (a read the quota refuses is reported, not retried).  Fields
-- the vendor's record does not hold are marked.  This is how an operator
-- catches edits made in the vendor's own UI before overwriting them.
local util = require "userupd.cli.util"
local setup = require "userupd.cli.setup"
local diff = require "userupd.cli.diff"

local out = util.out
local preview = {}

preview.SAMPLE = 20
preview.NOT_RETURNED = "(not returned by the vendor)"

-- Collects the first n rows the plan would send.
function preview.sampler(n)
  local rows = {}
  return rows, function(id, why, fields_json)
    if #rows < n then rows[#rows + 1] = { id = id, why = why,
                                          fields = fields_json } end
  end
end

-- "3 reads at QuestionPro (one GET each, paced at 5/s; the daily quota
-- has 2 left today: 1 read would be refused)"
local function announce(ctx, client, n, quota_left)
  local title = setup.TITLES[ctx.vendor] or ctx.vendor
  local parts = { ("one GET each, paced at %s/s"):format(
    (("%g"):format(ctx.opts.rate or
      ctx.userupd.vendors[ctx.vendor].rate or 0))) }
  if ctx.opts.shared_budget then
    parts[#parts + 1] = "counted in the shared budget"
  end
  if quota_left then
    parts[#parts + 1] = ("the daily quota has %d left today%s"):format(
      quota_left, quota_left < n and (": %d would be refused"):format(
      n - quota_left) or "")
  end
  if ctx.vendor == "blackbaud" and not ctx.opts.token then
    parts[#parts + 1] = "plus one login"
  end
  out(("preview: %d %s at %s (%s)"):format(n, n == 1 and "read" or
    "reads", title, table.concat(parts, "; ")))
  return client
end

-- The vendor's record under the names the payload uses (a field the
-- record calls otherwise, field_info.reply, is looked up by that name).
local function as_sent(userupd, vendor, record)
  local info, t = userupd.vendors[vendor].field_info or {}, {}
  for name, fi in pairs(info) do
    local v = record[fi.reply or name]
    if v ~= nil then t[name] = v end
  end
  return t
end

-- Reads and diffs the sampled rows; returns how many reads were made and
-- how many failed.
function preview.run(client, ctx, rows, quota_left)
  local userupd, vendor = ctx.userupd, ctx.vendor
  if #rows == 0 then
    out("preview: nothing would be sent, so nothing to read")
    return 0, 0
  end
  announce(ctx, client, #rows, quota_left)
  local differ = diff.new(userupd, vendor, { all = true,
                                             absent = preview.NOT_RETURNED })
  local failed = 0
  out(("preview against %s (the vendor's current record -> what the run " ..
       "would send):"):format(setup.TITLES[vendor] or vendor))
  for _, row in ipairs(rows) do
    local record, e = client:get(row.id)
    if type(record) ~= "table" then
      failed = failed + 1
      out(("%s: cannot read it: %s"):format(util.one_line(row.id),
                                            util.describe_error(e)))
    else
      local now = as_sent(userupd, vendor, record)
      local missing = {}
      local sent = userupd.json_decode(row.fields)
      for name in pairs(sent) do
        if now[name] == nil then missing[name] = preview.NOT_RETURNED end
      end
      local list = differ:changes(sent, now, missing)
      if #list == 0 then
        out(("%s: the vendor already holds every field"):format(
          util.one_line(row.id)))
      end
      for _, c in ipairs(list) do
        out(("%s %s: %s -> %s"):format(util.one_line(row.id),
          util.one_line(c[1]), c[2], c[3]))
      end
    end
  end
  out(("preview: %d read%s, %d failed"):format(#rows,
    #rows == 1 and "" or "s", failed))
  return #rows, failed
end

return preview
