-- userupd.cli.failures: `userupd failures`, the records a journal holds as
-- failed or invalid.  csv and jsonl carry the same columns, in this order:
-- id, line (of the input), state, kind, status, attempts, message, payload
-- (the fields that were sent, as JSON; never credentials).
local csv = require "userupd.csv"
local util = require "userupd.cli.util"
local setup = require "userupd.cli.setup"

local fail = util.fail
local failures = {}

local COLUMNS = { "id", "line", "state", "kind", "status", "attempts",
                  "message", "payload" }

local function jsonl_writer(userupd, fh)
  local function enc(v)
    if v == nil then return "null" end
    return userupd.json_encode(v) or "null"
  end
  -- Built by hand so the keys keep this order in every line; the payload
  -- is the journal's JSON text, checked to be an object.
  return function(f)
    local payload = f.payload
    local ok, t = pcall(userupd.json_decode, payload or "null")
    if not ok or type(t) ~= "table" then payload = nil end
    local parts = {}
    for i = 1, #COLUMNS - 1 do
      parts[i] = ("%q:%s"):format(COLUMNS[i], enc(f[COLUMNS[i]]))
    end
    parts[#parts + 1] = '"payload":' .. (payload or "null")
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

function failures.command(args)
  if not args.journal then fail("missing --journal FILE") end
  local userupd = setup.load_module()
  local journal, why = userupd.journal(args.journal)
  if not journal then fail("cannot open the journal: %s", tostring(why)) end
  local fh = output(userupd, args.output)
  local write = args.format == "csv" and csv_writer(fh)
                or jsonl_writer(userupd, fh)
  local count = 0
  for f in each_failure(journal) do
    write(f)
    count = count + 1
  end
  journal:close()
  if fh ~= io.stdout then fh:close() end
  return 0, { failures = count }
end

return failures
