-- userupd.cli.failures: `userupd failures`, every row the journal holds
-- as failed or invalid, and every row the last run refused before it
-- could be sent (a map that raised, a short row, an id like "N/A", a
-- duplicate).  csv and jsonl carry the same columns, in this order:
-- id, line (of the input), state (failed, invalid or refused), kind,
-- status, attempts, message, payload (the fields that were sent, as JSON;
-- never credentials), time (when it failed, UTC), run (the journal's run
-- number), cells (the input row, secret cells redacted).
--
-- --format input prints the refused and invalid rows as the input's own
-- CSV (the last run's header), to fix and feed back with --input.
-- --prune: rows absent from the last complete run's input leave the list.
local csv = require "userupd.csv"
local util = require "userupd.cli.util"
local setup = require "userupd.cli.setup"

local fail = util.fail
local failures = {}

local COLUMNS = { "id", "line", "state", "kind", "status", "attempts",
                  "message", "payload", "time", "run", "cells" }
local JSON_COLUMNS = { payload = true, cells = true }

local function iso(t)
  return t and os.date("!%Y-%m-%dT%H:%M:%SZ", t) or nil
end

local function jsonl_writer(userupd, fh)
  local function enc(v)
    if v == nil or v == userupd.null then return "null" end
    return userupd.json_encode(v) or "null"
  end
  local function object(text)          -- JSON text that holds an object
    local ok, t = pcall(userupd.json_decode, text or "null")
    return (ok and type(t) == "table") and text or "null"
  end
  -- Built by hand so the keys keep this order in every line.
  return function(f)
    local parts = {}
    for i, k in ipairs(COLUMNS) do
      parts[i] = ("%q:%s"):format(k, JSON_COLUMNS[k] and object(f[k]) or
                                     enc(f[k]))
    end
    fh:write("{", table.concat(parts, ","), "}\n")
  end
end

local function csv_writer(fh)
  csv.write_row(fh, COLUMNS)
  return function(f)
    local row = { n = #COLUMNS }
    for i, k in ipairs(COLUMNS) do row[i] = csv.neutralize(f[k]) end
    csv.write_row(fh, row)
  end
end

-- --output FILE: created 0600 (or truncated and made 0600) before a byte
-- of it is written, as its rows are student records; else stdout.
local function output(userupd, path)
  if not path or path == "-" then return io.stdout end
  local ok, why = userupd.create_private(path)
  if not ok then fail("cannot write --output %s", tostring(why)) end
  local fh
  fh, why = io.open(path, "wb")
  if not fh then fail("cannot write --output %s", tostring(why)) end
  return fh
end

-- Failures one at a time when the journal can stream them.
local function each_failure(journal)
  if journal.each_failure then return journal:each_failure() end
  local list, i = journal:failures(), 0
  return function()
    i = i + 1
    return list[i]
  end
end

-- The journal's history: runs (oldest first) and the refused rows.
local function history(journal, userupd)
  local runs = journal.runs and journal:runs() or {}
  local list = journal.refused and journal:refused() or {}
  local null = userupd.null
  for _, r in ipairs(list) do
    for k, v in pairs(r) do if v == null then r[k] = nil end end
  end
  for _, r in ipairs(runs) do
    for k, v in pairs(r) do if v == null then r[k] = nil end end
  end
  return runs, list
end

-- The run an outcome written at time t belongs to: the last that started
-- at or before t.
local function run_at(runs, t)
  local found
  for _, r in ipairs(runs) do
    if t and r.started <= t then found = r end
  end
  return found
end

local function cells_text(userupd, cells)
  if type(cells) ~= "table" then return nil end
  return userupd.json_encode(cells)
end

-- Every row of the list, journal failures first (id order), then the rows
-- refused before sending (line order).
local function each_row(journal, userupd, runs, refused, write)
  local by_id, all, used, count = {}, {}, {}, 0
  for i, r in ipairs(refused) do       -- the latest run's entry per id
    local seen = r.id and by_id[r.id]
    if r.id and (not seen or refused[seen].run < r.run) then by_id[r.id] = i end
    if r.id then
      all[r.id] = all[r.id] or {}
      table.insert(all[r.id], i)
    end
  end
  for f in each_failure(journal) do
    local i = by_id[f.id]
    local run = i and { run = refused[i].run } or run_at(runs, f.updated_at)
    for _, k in ipairs(all[f.id] or {}) do used[k] = true end
    f.time, f.run = iso(f.updated_at), run and run.run
    f.cells = i and cells_text(userupd, refused[i].cells) or nil
    write(f)
    count = count + 1
  end
  local runs_by_no = {}
  for _, r in ipairs(runs) do runs_by_no[r.run] = r end
  for i, r in ipairs(refused) do
    if not used[i] and r.kind ~= "failed" then
      local run = runs_by_no[r.run]
      write({ id = r.id, line = r.line, state = "refused", kind = r.kind,
              message = r.reason, time = iso(run and run.finished),
              run = r.run, cells = cells_text(userupd, r.cells) })
      count = count + 1
    end
  end
  return count
end

-- --format input: the refused and invalid rows as the input's CSV.
local function input_csv(runs, refused, fh)
  local last = runs[#runs]
  local header = last and last.header
  if type(header) ~= "table" or #header == 0 then
    fail("the journal has no input header yet (run `userupd apply` with " ..
         "this --journal first, on a CSV file)")
  end
  csv.write_row(fh, header)
  local n = 0
  for _, r in ipairs(refused) do
    if type(r.cells) == "table" and r.kind ~= "failed" then
      local row = { n = #header }
      for i, name in ipairs(header) do
        row[i] = csv.neutralize(r.cells[name] or "")
      end
      csv.write_row(fh, row)
      n = n + 1
    end
  end
  return n
end

-- --prune: the failed and invalid rows the last complete run did not see
-- leave the list.  Every failed row in its input was tried again (and
-- got that run's number) or seen unchanged (and healed); a row whose last
-- failure belongs to an earlier run was not in it.  Without a run number,
-- the time tells (a failure from before that run began).
local function prune(journal, runs, refused)
  local last
  for _, r in ipairs(runs) do
    if not r.stopped then last = r end
  end
  if not last then
    fail("--prune needs a run that read its whole input: the journal has " ..
         "none yet (or only stopped ones)")
  end
  local latest = {}
  for _, r in ipairs(refused) do
    if r.id and (latest[r.id] or 0) < r.run then latest[r.id] = r.run end
  end
  local ids = {}
  for f in each_failure(journal) do
    local run = latest[f.id]
    if (run and run < last.run) or (not run and f.updated_at < last.started)
    then
      ids[#ids + 1] = f.id
    end
  end
  local n, why = journal:prune(ids)
  if not n then fail("cannot prune the journal: %s", tostring(why)) end
  util.err_line(("pruned %d %s absent from the input of run %d (%s)")
    :format(#ids, #ids == 1 and "row" or "rows", last.run,
            iso(last.started)))
  return #ids
end

function failures.command(args)
  if not args.journal then fail("missing --journal FILE") end
  local userupd = setup.load_module()
  local journal, why = userupd.journal(args.journal)
  if not journal then fail("cannot open the journal: %s", tostring(why)) end
  local fh
  local ok, count, list = pcall(function()
    local runs, refused = history(journal, userupd)
    if args.prune then return prune(journal, runs, refused), nil end
    fh = output(userupd, args.output)
    if args.format == "input" then return input_csv(runs, refused, fh) end
    local write = args.format == "csv" and csv_writer(fh) or
                  jsonl_writer(userupd, fh)
    return each_row(journal, userupd, runs, refused, write)
  end)
  journal:close()
  if fh and fh ~= io.stdout then fh:close() end
  if not ok then error(count, 0) end
  return 0, { failures = count, list = list }
end

return failures
