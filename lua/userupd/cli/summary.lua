-- userupd.cli.summary: the one table that counts a run.  The summary
-- line, --summary-json and the metrics file all read it; the by-reason
-- grouping feeds it.  It is also the `counts` table the rest of the CLI
-- updates (counts.ok = counts.ok + 1), so there is one set of numbers.
--
--   local s = summary.new("questionpro", { dry_run = false })
--   s:add("ok")                    -- one more row in a count
--   s:reason("unknown field 'x'")  -- one more row refused for a reason
--   s:finish("daily_quota")        -- stopped early (nil: ran to the end)
--   s:document()                   -- the versioned table of --summary-json
--
-- Count names (shared by the whole team): ok failed invalid unchanged
-- skipped duplicate; ready (a dry run's rows to send); left (rows a
-- stopped run left for the next one).
local summary = {}

-- The version of the --summary-json object; a change that removes or
-- renames a member bumps it, a new member does not.
summary.SCHEMA = "userupd.summary/1"

-- The counts, in the order the summary line and the JSON list them.
summary.COUNTS = { "ok", "failed", "invalid", "unchanged", "skipped",
                   "duplicate", "ready", "left" }

local Summary = {}
Summary.__index = Summary

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- vendor: the vendor's key; opts.dry_run; opts.now (a clock, for tests).
function summary.new(vendor, opts)
  opts = opts or {}
  local s = setmetatable({
    vendor = vendor, dry_run = opts.dry_run and true or false,
    started = os.time(), finished = nil, stopped = nil,
    by_reason = {},          -- reason -> rows
    reasons = {},            -- the reasons in first-seen order
    by_kind = {},            -- error kind -> rows (the library's kinds)
    invalid_lines = {}, duplicates = {}, elapsed = 0,
  }, Summary)
  for _, k in ipairs(summary.COUNTS) do s[k] = 0 end
  return s
end

function Summary:add(name, n)
  if self[name] == nil then
    error(("summary: no count named '%s'"):format(tostring(name)), 2)
  end
  self[name] = self[name] + (n or 1)
end

-- One more row refused for reason (a short text without the row's own
-- values, so rows with the same mistake group together).
function Summary:reason(reason, n)
  reason = tostring(reason)
  if not self.by_reason[reason] then
    self.by_reason[reason] = 0
    self.reasons[#self.reasons + 1] = reason
  end
  self.by_reason[reason] = self.by_reason[reason] + (n or 1)
end

-- The reasons, most rows first (first seen first on a tie).
function Summary:reason_list()
  local order, list = {}, {}
  for i, r in ipairs(self.reasons) do
    order[r] = i
    list[i] = r
  end
  table.sort(list, function(a, b)
    local na, nb = self.by_reason[a], self.by_reason[b]
    if na ~= nb then return na > nb end
    return order[a] < order[b]
  end)
  return list
end

-- Rewrites every reason through fn (taking secrets out of them); reasons
-- that become equal are added up.
function Summary:redact_reasons(fn)
  local by, order = {}, {}
  for _, r in ipairs(self.reasons) do
    local k = fn(r)
    if not by[k] then order[#order + 1] = k end
    by[k] = (by[k] or 0) + self.by_reason[r]
  end
  self.by_reason, self.reasons = by, order
end

-- The run is over; stopped: why it stopped early, or nil.
function Summary:finish(stopped)
  self.finished = os.time()
  if stopped then self.stopped = tostring(stopped) end
end

-- The --summary-json object (documented in docs/cli.md).  Only counts
-- that apply: ready for a dry run, left for a stopped run.
function Summary:document()
  local counts = {}
  for _, k in ipairs(summary.COUNTS) do
    if (k ~= "ready" or self.dry_run) and
       (k ~= "left" or self.stopped or self.left > 0) then
      counts[k] = self[k]
    end
  end
  local by_reason = {}
  for r, n in pairs(self.by_reason) do by_reason[r] = n end
  return {
    schema = summary.SCHEMA, vendor = self.vendor, dry_run = self.dry_run,
    started = iso(self.started), finished = iso(self.finished or os.time()),
    counts = counts, by_reason = by_reason, stopped = self.stopped,
  }
end

-- Writes the document to path with encode (userupd.json_encode); null
-- (userupd.null) stands for a run that was not stopped, so `stopped` is
-- always there.  true, or nil and the reason.
function Summary:write_json(path, encode, null)
  local doc = self:document()
  if doc.stopped == nil then doc.stopped = null end
  local text = encode(doc)
  local fh, why = io.open(path, "wb")
  if not fh then return nil, why end
  fh:write(text, "\n")
  fh:close()
  return true
end

return summary
