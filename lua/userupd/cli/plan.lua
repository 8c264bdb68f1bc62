-- userupd.cli.plan: `userupd apply --dry-run`, the plan of the real run.
--
-- The rows go through update_many with dry_run = true: the library's own
-- decision (the journal lookup, the payload hash, --changed-fields) says
-- which rows the real run would send, so the two cannot disagree.  The
-- journal is read, never written.  --show-requests prints only what would
-- be sent; --diff shows it field by field against the last payload that
-- succeeded.
local util = require "userupd.cli.util"
local input = require "userupd.cli.input"
local diff = require "userupd.cli.diff"
local exit = require "userupd.cli.exit"
local reasons = require "userupd.cli.reasons"
local run = require "userupd.cli.run"

local out, err_line = util.out, util.err_line
local plan = {}

local function list_lines(lines, max)
  local t = {}
  for i = 1, math.min(#lines, max) do t[i] = tostring(lines[i]) end
  if #lines > max then t[#t + 1] = ("and %d more"):format(#lines - max) end
  return table.concat(t, ", ")
end

local WHY = { new = "new", changed = "changed", failed = "failed before" }

local function ready_parts(c)
  local parts = {}
  for _, k in ipairs({ "new", "changed", "failed" }) do
    if (c.plan[k] or 0) > 0 then
      parts[#parts + 1] = ("%s %s"):format(util.thousands(c.plan[k]), WHY[k])
    end
  end
  return #parts > 0 and " (" .. table.concat(parts, ", ") .. ")" or ""
end

-- "daily quota: 20 calls left today: the real run sends 20 of the 59
-- ready rows, 39 wait for the next run"
local function quota_line(c)
  if not c.quota_left then return nil end
  if c.quota_left >= c.ready then
    return ("daily quota: %s calls left today, enough for the %s ready rows")
      :format(util.thousands(c.quota_left), util.thousands(c.ready))
  end
  return ("daily quota: %s calls left today: the real run sends %s of the " ..
          "%s ready rows, %s wait for the next run"):format(
    util.thousands(c.quota_left), util.thousands(c.quota_left),
    util.thousands(c.ready), util.thousands(c.ready - c.quota_left))
end

function plan.print_summary(c, missing)
  out(("dry run: %s ready%s, %s unchanged, %d invalid, %d duplicate, %d " ..
       "skipped by the map; nothing was sent"):format(
    util.thousands(c.ready), ready_parts(c), util.thousands(c.unchanged),
    c.invalid, c.duplicate, c.skipped))
  local quota = quota_line(c)
  if quota then out("  " .. quota) end
  if c.invalid > 0 then
    out("  invalid rows at lines: " .. list_lines(c.invalid_lines, 20))
  end
  if c.duplicate > 0 then
    out("  duplicate ids: " .. list_lines(c.duplicates, 20))
  end
  if #missing > 0 then
    out("  columns the map read that the input does not have: " ..
        table.concat(missing, ", "))
  end
end

-- The names of extra members, sorted.
local function extra_names(extra)
  local names = {}
  for k in pairs(extra) do names[#names + 1] = tostring(k) end
  table.sort(names)
  return table.concat(names, ", ")
end

-- What --show-requests prints for a row the real run would send: the
-- request as prepare shows it (credentials redacted), and with
-- --changed-fields the fields that would really go.
local function show(client, rec, why, fields_json, args)
  out(("# line %d, id %s (%s)"):format(rec.line or 0, util.one_line(rec.id),
                                        WHY[why] or why))
  local req = client:prepare(rec.id, rec.fields, { extra = rec.extra })
  out(tostring(req))                     -- marks the extra members itself
  if args.changed_fields then
    out("# --changed-fields sends only: " .. util.one_line(fields_json))
  end
end

local function on_plan(client, counts, rec, args, differ)
  return function(id, why, fields_json, line, last_json)
    counts.ready = counts.ready + 1
    counts.plan[why] = (counts.plan[why] or 0) + 1
    rec.line = line ~= 0 and line or rec.line
    if args.show_requests then
      show(client, rec, why, fields_json, args)
    elseif rec.extra and next(rec.extra) ~= nil then
      out(("line %d, id %s: extra, not in the vendor's documentation: %s")
          :format(rec.line or 0, util.one_line(id), extra_names(rec.extra)))
    end
    if differ then differ:row(id, why, fields_json, last_json) end
    if rec.on_ready then rec.on_ready(id, why, fields_json) end
  end
end

-- Invalid rows the library refuses (the map's rows passed, the vendor's
-- rules did not): counted, and on stderr with their line.
local function on_result(counts, rec)
  return function(_, _, e)
    if not e then return end
    counts.invalid = counts.invalid + 1
    counts.invalid_lines[#counts.invalid_lines + 1] = rec.line or 0
    local kind = tostring(e.kind or "invalid")
    counts.by_kind[kind] = (counts.by_kind[kind] or 0) + 1
    local msg = util.describe_error(e)
    counts.group:row(("line %d: invalid: %s"):format(rec.line or 0, msg),
                     reasons.key(msg))
  end
end

-- ctx: userupd, vendor, args, seen, and on_ready(id, why, fields_json)
-- for each row the real run would send (the live preview samples them).
-- Returns the exit status.
function plan.run(client, recs, counts, ctx)
  local args = ctx.args
  local rec = { on_ready = ctx.on_ready } -- the record pulled last
  counts.plan = {}
  local differ = args.diff and diff.new(ctx.userupd, ctx.vendor, {
    all = args.diff_all }) or nil
  local function source()
    local id, fields, lineno, extra = recs()
    rec.id, rec.fields, rec.extra, rec.line = id, fields, extra, lineno
    return id, fields, extra, lineno
  end
  local ok, s = pcall(client.update_many, client, source, {
    dry_run = true, journal = args.journal, progress = false,
    journal_rebind = args.journal_rebind or nil,
    interruptible = true, changed_fields = args.changed_fields or nil,
    on_result = on_result(counts, rec),
    on_skip = function() counts.unchanged = counts.unchanged + 1 end,
    on_plan = on_plan(client, counts, rec, args, differ),
  })
  if not ok then util.journal_refused(s, rec.id ~= nil) end
  counts.quota_left = s.quota_left
  counts.signal = s.signal
  counts:finish(s.stopped)
  if s.stopped == "interrupted" then
    err_line("interrupted: nothing more was sent (a dry run sends nothing); " ..
             "the plan below counts only the rows read so far")
  end
  if differ then differ:finish() end
  counts.group:flush()
  plan.print_summary(counts, input.missing(ctx.seen))
  run.print_reasons(counts)
  return exit.code(counts)
end

return plan
