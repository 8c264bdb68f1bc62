-- userupd.cli.send: the real run.  update_many sends; the CLI counts every
-- row itself (so the progress line and the summary agree), prints errors
-- on their own lines, and explains an early stop.
local util = require "userupd.cli.util"
local setup = require "userupd.cli.setup"
local run = require "userupd.cli.run"
local exit = require "userupd.cli.exit"
local reasons = require "userupd.cli.reasons"

local err_line = util.err_line
local send = {}

-- on_result: counts by outcome and kind, one line per error.
-- The record's input line comes fifth: no table of lines by id, which
-- grew the heap with the file (issue 22).
local function on_result(counts, bar)
  return function(id, _, e, _, line)
    if not e then
      counts.ok = counts.ok + 1
      if counts.refused then counts.refused:release(line) end
    else
      local kind = tostring(e.kind or "unknown")
      if kind == "invalid" then
        counts.invalid = counts.invalid + 1
        counts.journaled_invalid = (counts.journaled_invalid or 0) + 1
      else
        counts.failed = counts.failed + 1
      end
      counts.by_kind[kind] = (counts.by_kind[kind] or 0) + 1
      local msg = util.describe_error(e)
      if counts.refused then
        counts.refused:add(line, kind == "invalid" and "invalid" or
                           "failed", msg, nil, id)
      end
      counts.group:row(("line %s: id %s: %s: %s"):format(
        tostring(line or "?"), util.one_line(id), kind, msg),
        (kind == "invalid" and "" or kind .. ": ") .. reasons.key(msg))
      if kind == "invalid" and counts.guard then
        counts.guard(counts.read or 0)
      end
    end
    bar:draw(counts)
  end
end

-- The source update_many pulls: id, fields, extra, line (the journal keeps
-- the line).
-- The line is drawn every DRAW_EVERY records pulled (and on every tick
-- and answer): a draw per row cost more than the row's own work.
local DRAW_EVERY = 16

-- Returns the source and a function that tells whether it was called.
-- update_many calls it with the number of records queued so far: when it
-- grew, the record pulled last was queued, and its row is held for its
-- outcome (refused.lua); a record skipped as unchanged keeps nothing.
local function source(recs, counts, bar)
  local drawn, n, pulled, seen = bar.mode ~= "off", 0, false, 0
  return function(queued)
    pulled = true
    local c = counts.refused
    if c and queued and queued > seen then c:hold() end
    seen = queued or seen
    if counts.invalid_stop then return nil end      -- --max-invalid
    local id, fields, lineno, extra, row = recs()
    if c and id ~= nil then c:current(lineno, row, fields) end
    if drawn then
      n = n + 1
      if n >= DRAW_EVERY then
        n = 0
        bar:draw(counts)
      end
    end
    return id, fields, extra, lineno
  end, function() return pulled end
end

-- The run stops pulling: said at once, so Ctrl-C never meets a silent
-- wait for the slowest answer.
local function on_stop(why, flying)
  if why == "interrupted" then
    err_line(("stopping: %d in flight will finish and be journaled; " ..
              "Ctrl-C again to quit now"):format(flying))
  elseif flying > 0 then
    err_line(("stopping (%s): %d in flight will finish and be journaled")
             :format(why, flying))
  end
end

local function options(args, counts, bar)
  return {
    concurrency = args.concurrency, journal = args.journal,
    journal_rebind = args.journal_rebind or nil,
    progress = false, interruptible = true,
    changed_fields = args.changed_fields or nil,
    max_failures = args.max_failures,
    max_rate_limited = args.max_rate_limited,
    on_result = on_result(counts, bar),
    on_stop = on_stop,
    -- without a progress line nothing reads the count until the run
    -- ends (the summary's own count then): no call per skipped row; with
    -- one, the source draws it
    on_skip = bar.mode ~= "off" and function()
      counts.unchanged = counts.unchanged + 1
    end or nil,
  }
end

-- The run's tick (every 0.15 s at most, waits included): the line is
-- redrawn while nothing comes back, and a pause the library knows of (the
-- vendor's Retry-After window, the client's pace) shows once it is over a
-- second, unless a wait with a reason from on_attempt is showing.
local PAUSE_WHY = { rate_limited = "Retry-After from %s",
                    pacing = "pacing to %s limit" }

local function on_progress(ctx, counts, bar)
  local title = setup.TITLES[ctx.vendor] or ctx.vendor
  return function(stats)
    local w = bar.wait
    if stats.waiting and (stats.wait or 0) > 1 and
       not (w and w.till > util.now()) then
      bar:set_wait(stats.wait, (PAUSE_WHY[stats.waiting] or "%s"):format(
        stats.waiting == "pacing" and util.possessive(title) or title))
    end
    bar:draw(counts)
  end
end

-- Why the run stopped early, for people.
local function explain_stop(s, ctx, counts)
  local done = counts.ok + counts.failed + (counts.journaled_invalid or 0)
  if s.stopped == "auth" then
    err_line(("stopped: %d authentication failures in a row; check %s " ..
      "(the journal keeps what was done; run the same command again once " ..
      "it is fixed)"):format(counts.by_kind.auth or 0,
      setup.credential_vars(ctx.userupd, ctx.vendor, ctx.opts)))
  elseif s.stopped == "max_failures" then
    err_line(("stopped: %d failures in a row (--max-failures); the journal " ..
      "keeps what was done"):format(ctx.args.max_failures))
  elseif s.stopped == "rate_limited" then
    err_line(("stopped: %d records in a row still rate-limited after " ..
      "their retries (--max-rate-limited): the vendor's allowance is spent; " ..
      "the rest is pending: run the same command again later"):format(
      ctx.args.max_rate_limited or 5))
  elseif s.stopped == "interrupted" and (s.abandoned or 0) > 0 then
    err_line(("interrupted again: %d in flight dropped unanswered, not " ..
      "journaled (the next run sends them again); %d done%s"):format(
      s.abandoned, done, ctx.args.journal and " and journaled" or ""))
  elseif s.stopped == "interrupted" then
    err_line(ctx.args.journal and
      ("interrupted: %d done and journaled; run the same command again " ..
       "to resume"):format(done) or
      ("interrupted: %d done; without --journal a new run sends " ..
       "everything again"):format(done))
  elseif counts.invalid_stop then        -- the source ended early
    err_line(("stopped %s: %s; fix the input or the map (or raise " ..
      "--max-invalid) and run the same command again"):format(
      done == 0 and "before sending anything" or "sending",
      counts.invalid_stop))
  elseif s.stopped then                  -- daily_quota, or one added later
    err_line(("stopped: %s; the journal keeps what was done"):format(
      tostring(s.message or s.stopped)))
  end
end

-- The rows a stopped run left for the next one: those the library pulled
-- and never sent (s.held), and the records the input still holds, read
-- through the map without a word (their problems are the next run's; the
-- counts keep only the rows this run handled).  An interrupted run does
-- not read on: the operator wants it to end.
local function left_over(s, counts, recs, args)
  if s.stopped == "interrupted" or s.stopped == "terminated" or
     s.stopped == "closed" then
    return s.pending or 0
  end
  local keep = {}
  for _, k in ipairs({ "invalid", "skipped", "duplicate" }) do
    keep[k] = counts[k]
  end
  local n_lines, n_dups = #counts.invalid_lines, #counts.duplicates
  args.quiet_rows = true
  local collector = counts.refused       -- not this run's rows
  counts.refused = nil
  local n = s.held or 0
  for _ in recs do n = n + 1 end
  args.quiet_rows, counts.refused = nil, collector
  for k, v in pairs(keep) do counts[k] = v end
  for i = #counts.invalid_lines, n_lines + 1, -1 do
    counts.invalid_lines[i] = nil
  end
  for i = #counts.duplicates, n_dups + 1, -1 do counts.duplicates[i] = nil end
  return n
end


-- ctx: userupd, vendor, opts (client options), args.
function send.real(client, recs, counts, ctx, bar)
  local pull, pulled = source(recs, counts, bar)
  local opts = options(ctx.args, counts, bar)
  opts.on_progress = on_progress(ctx, counts, bar)
  if ctx.metrics then opts.on_result = ctx.metrics:wrap(opts.on_result) end
  local ok, s = pcall(client.update_many, client, pull, opts)
  if not ok then util.journal_refused(s, pulled()) end
  if s.lock_taken_over then              -- a killed run's lock (owner.c)
    err_line(("note: the journal's lock was left by a run that is gone " ..
              "(%s): taken over"):format(util.one_line(s.lock_taken_over)))
  end
  if not opts.on_skip then counts.unchanged = s.unchanged or 0 end
  counts.elapsed = s.elapsed or 0
  bar:finish(counts)
  counts.group:flush()
  run.report_missing(ctx.seen)
  explain_stop(s, ctx, counts)
  counts.signal = s.signal
  counts:finish(s.stopped or (counts.invalid_stop and "max_invalid"))
  if counts.stopped then
    counts.left = left_over(s, counts, recs, ctx.args)
  end
  if counts.refused and ctx.args.journal then
    local run_no, why = counts.refused:write(ctx.args.journal, counts)
    if not run_no then
      err_line(("warning: the journal did not take this run's refused rows " ..
                "(userupd failures will miss them): %s"):format(
                util.one_line(why)))
    end
  end
  run.print_summary(ctx.vendor, counts)
  return exit.code(counts)
end

return send
