-- userupd.cli.run: `userupd apply` once the input, the map and the client
-- are ready: a dry run, or the real run through update_many.
local util = require "userupd.cli.util"
local input = require "userupd.cli.input"

local out, err_line = util.out, util.err_line
local run = {}

-- The exit status for interrupted runs, as a shell reports SIGINT.
run.INTERRUPTED = 130

-- What the map read that the file does not have, once, on stderr.
function run.report_missing(seen)
  local missing = input.missing(seen)
  if #missing == 0 then return missing end
  err_line(("warning: the map read %s the input does not have: %s"):format(
    #missing == 1 and "a column" or "columns", table.concat(missing, ", ")))
  return missing
end

-- Under the summary: the by-reason table, rows the map gave nothing to
-- send, where --max-invalid stops a real run, and the file's hints again.
function run.print_reasons(c)
  if c.refused then                 -- no secret cell in a printed reason
    c:redact_reasons(function(text) return c.refused:redact(text) end)
  end
  if (c.retries or 0) > 0 or (c.waited or 0) >= 1 then
    out(("  retries %s, time spent waiting %s (pacing, Retry-After and " ..
         "backoff, summed over the requests)"):format(
      util.thousands(c.retries or 0), util.duration(c.waited or 0)))
  end
  if c.group then c.group:table(out) end
  if (c.skipped_empty or 0) > 0 then
    out(("  skipped %s rows whose map returned no fields"):format(
      util.thousands(c.skipped_empty)))
  end
  if c.invalid_stop and c.dry_run then
    out("  a real run would stop here: " .. c.invalid_stop)
  end
end

local function sorted_kinds(by_kind)
  local parts = {}
  for kind, n in pairs(by_kind) do
    if n > 0 then parts[#parts + 1] = ("%s %d"):format(kind, n) end
  end
  table.sort(parts)
  return table.concat(parts, ", ")
end

function run.print_summary(vendor, c)
  out(("%s: ok %d, failed %d, invalid %d, unchanged %d, skipped %d, " ..
       "duplicate %d in %.1f s"):format(vendor, c.ok, c.failed, c.invalid,
       c.unchanged, c.skipped, c.duplicate, c.elapsed))
  if c.left > 0 then
    out(("  left %s for the next run (%s)"):format(util.thousands(c.left),
      c.stopped == "daily_quota" and "the daily quota is spent; they go " ..
      "after 00:00 UTC" or "stopped: " .. tostring(c.stopped)))
  end
  local kinds = sorted_kinds(c.by_kind)
  if kinds ~= "" then out("  by kind: " .. kinds) end
  run.print_reasons(c)
end

return run
