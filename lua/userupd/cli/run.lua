-- userupd.cli.run: `userupd apply` once the input, the map and the client
-- are ready: a dry run, or the real run through update_many.
local util = require "userupd.cli.util"
local input = require "userupd.cli.input"

local out, err_line = util.out, util.err_line
local run = {}

-- The exit status for interrupted runs, as a shell reports SIGINT.
run.INTERRUPTED = 130

local function list_lines(lines, max)
  local t = {}
  for i = 1, math.min(#lines, max) do t[i] = tostring(lines[i]) end
  if #lines > max then t[#t + 1] = ("and %d more"):format(#lines - max) end
  return table.concat(t, ", ")
end

-- What the map read that the file does not have, once, on stderr.
function run.report_missing(seen)
  local missing = input.missing(seen)
  if #missing == 0 then return missing end
  err_line(("warning: the map read %s the input does not have: %s"):format(
    #missing == 1 and "a column" or "columns", table.concat(missing, ", ")))
  return missing
end

local function dry_summary(c, missing)
  out(("dry run: %s ready, %d invalid, %d duplicate, %d skipped by the " ..
       "map; nothing was sent"):format(util.thousands(c.ready), c.invalid,
                                       c.duplicate, c.skipped))
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

-- --dry-run: every record validated, nothing sent; --show-requests prints
-- each request too.  Problems go to stderr with their line numbers.
function run.dry(client, recs, counts, args, seen)
  counts.ready = 0
  for id, fields, lineno, extra in recs do
    local req, e = client:prepare(id, fields, { extra = extra })
    if req then
      counts.ready = counts.ready + 1
      if args.show_requests then
        out(("# line %d, id %s"):format(lineno, tostring(id)))
        out(tostring(req))               -- marks the extra members itself
      elseif req.extra then
        out(("line %d, id %s: extra, not in the vendor's documentation: %s")
            :format(lineno, tostring(id), table.concat(req.extra, ", ")))
      end
    else
      counts.invalid = counts.invalid + 1
      counts.invalid_lines[#counts.invalid_lines + 1] = lineno
      err_line(("line %d: invalid: %s"):format(lineno, util.describe_error(e)))
    end
  end
  dry_summary(counts, input.missing(seen))
  return (counts.invalid > 0 or counts.duplicate > 0) and 1 or 0
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
  local kinds = sorted_kinds(c.by_kind)
  if kinds ~= "" then out("  by kind: " .. kinds) end
end

return run
