-- userupd.cli.exit: the exit statuses of `userupd`, one table a scheduler
-- can act on (docs/cli.md lists them; spec/cli/cli_exit_spec.lua checks
-- each one).
local exit = {
  OK = 0,            -- every row sent is ok, or everything unchanged
  SOME_FAILED = 1,   -- some rows failed, were invalid or duplicates
  USAGE = 2,         -- usage or configuration error, before any row
  NOTHING_SENT = 3,  -- rows were read, nothing to send (all skipped,
                     -- invalid or duplicate)
  TEMPFAIL = 75,     -- stopped early, resumable: the rest is pending
  SIGINT = 130,      -- interrupted (Ctrl-C), in-flight rows journaled
  SIGTERM = 143,     -- terminated (SIGTERM), in-flight rows journaled
}

-- The status for a finished run's summary (userupd.cli.summary): the
-- counts, .stopped and .signal.  A dry run is judged on what it would
-- send (ready).
function exit.code(c)
  if c.signal == 15 or c.stopped == "terminated" then return exit.SIGTERM end
  if c.signal == 2 or c.stopped == "interrupted" then return exit.SIGINT end
  if c.stopped and c.stopped ~= "closed" and c.stopped ~= "max_invalid" then
    return exit.TEMPFAIL             -- max_invalid: the input needs fixing
  end
  local sent = c.dry_run and (c.ready or 0) or (c.ok + c.failed)
  local read = sent + c.unchanged + c.invalid + c.skipped + c.duplicate
  if read > 0 and sent == 0 and c.unchanged == 0 then
    return exit.NOTHING_SENT
  end
  if c.failed + c.invalid + c.duplicate > 0 or c.stopped then
    return exit.SOME_FAILED
  end
  return exit.OK
end

return exit
