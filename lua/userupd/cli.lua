-- userupd.cli: the `userupd` command line.
--
--   userupd apply VENDOR --input FILE --map MAP.lua [...]
--   userupd failures --journal FILE [--format csv|jsonl]
--
-- cli.main(argv) returns the exit status: 0 everything succeeded, 1 some
-- records failed or were invalid, 2 a usage or configuration error.
-- cli.run(argv) returns the same status plus a table of counts (the demo
-- and tests read it).
--
-- Credentials never come from arguments, which any user can read in `ps`:
-- they come from USERUPD_<VENDOR>_<OPTION> environment variables or from a
-- --config file, and no message prints their values.

local argparse = require "argparse"
local csv = require "userupd.csv"

local cli = {}

local function out(...)
  io.stdout:write(...)
  io.stdout:write("\n")
end

local function err_line(...)
  io.stderr:write(...)
  io.stderr:write("\n")
end

-- Usage and configuration errors unwind to cli.run as this table, so any
-- helper can stop the command with exit status 2 and a clear message.
local Usage = {}

local function fail(fmt, ...)
  error(setmetatable({ message = fmt:format(...) }, Usage), 0)
end

---------------------------------------------------------------------------
-- Arguments

local function positive_integer(s)
  local n = tonumber(s)
  if n and n >= 1 and n == math.floor(n) then return n end
  return nil, ("expected a whole number of at least 1, got '%s'"):format(s)
end

local function positive_number(s)
  local n = tonumber(s)
  if n and n > 0 and n < math.huge then return n end
  return nil, ("expected a number above 0, got '%s'"):format(s)
end

local APPLY_EPILOG = [[
Credentials are never taken from arguments. Set them in the environment as
USERUPD_<VENDOR>_<OPTION>, upper-cased (USERUPD_QUESTIONPRO_API_KEY,
USERUPD_FORMSONFIRE_COMPANY_ID, ...), or put the client options in a Lua
file that returns a table and pass it with --config (the environment wins).

MAP.lua returns function(row, vendor) -> id, fields. Return nil to skip a
row; an error raised for a row counts that row as invalid.

Exit status: 0 all records succeeded, 1 some failed or were invalid,
2 usage or configuration error.]]

local function add_apply(parser, vendors)
  local apply = parser:command("apply",
    "Send one update per input row to VENDOR.", APPLY_EPILOG)
  apply:argument("vendor", "One of: " .. vendors .. "."):argname "VENDOR"
  apply:option("--input", "Users to update: a .csv, .jsonl or .ndjson " ..
    "file, or - for standard input (then give --format).")
    :argname "FILE"
  apply:option("--map", "Lua file returning function(row, vendor) -> " ..
    "id, fields."):argname "MAP.lua"
  apply:option("--journal", "Journal database: a re-run skips what " ..
    "succeeded and retries what failed."):argname "FILE"
  apply:option("--concurrency", "Requests in flight at once.")
    :argname "N":convert(positive_integer)
  apply:option("--rate", "Requests per second (overrides the vendor's " ..
    "default pace).")
    :argname "R":convert(positive_number)
  apply:option("--base-url", "Send to this scheme and host instead " ..
    "(a sandbox, a proxy, a region).")
    :argname "URL"
  apply:option("--config", "Lua file returning a table of client options.")
    :argname "FILE"
  apply:flag("--dry-run", "Validate every row and print the requests; " ..
    "send nothing.")
  apply:flag("--no-progress", "Do not show the progress bar.")
  apply:option("--format", "Input format, when the file name does not " ..
    "tell.")
    :choices({ "csv", "jsonl" })
  return apply
end

local function add_failures(parser)
  local failures = parser:command("failures",
    "Print the records a journal holds as failed, with their errors.",
    "jsonl prints one object per line: id, state, kind, status, message\n" ..
    "and fields (the payload that was sent, or null).")
  failures:option("--journal", "Journal written by `userupd apply " ..
    "--journal`."):argname "FILE"
  failures:option("--format", "Output format.")
    :choices({ "csv", "jsonl" }):default("jsonl")
  return failures
end

-- Vendor names for the help text.  The module may be missing (not built
-- yet); help must work anyway.
local function vendor_list()
  local ok, userupd = pcall(require, "userupd")
  if not ok or type(userupd.vendors) ~= "table" then
    return "the keys of userupd.vendors"
  end
  local names = {}
  for name in pairs(userupd.vendors) do names[#names + 1] = name end
  table.sort(names)
  return table.concat(names, ", ")
end

-- The parser.  argparse's own --help and --version call os.exit(); ours
-- only note the request in `state`, so cli.run always returns.
local function build_parser(state)
  local parser = argparse("userupd",
    "Update users at a SaaS vendor from a CSV or JSONL file and a Lua " ..
    "mapping.")
  local function help_of(command)
    return { action = function() state.help = state.help or command end }
  end
  parser:add_help(help_of(parser))
  parser:flag("--version", "Print the version and exit.")
    :action(function() state.version = true end)
  parser:command_target("command")
  parser:require_command(false)
  state.commands = {
    apply = add_apply(parser, vendor_list()),
    failures = add_failures(parser),
  }
  for _, command in pairs(state.commands) do
    command:add_help(help_of(command))
  end
  return parser
end

---------------------------------------------------------------------------
-- Module, vendor and client

local function load_module()
  local ok, userupd = pcall(require, "userupd")
  if not ok then
    fail("cannot load the userupd module: %s", (tostring(userupd):match("[^\n]*")))
  end
  return userupd
end

local function check_vendor(userupd, vendor)
  if type(userupd.vendors[vendor]) ~= "table" then
    fail("unknown vendor '%s'; expected one of: %s", vendor, vendor_list())
  end
end

local function env_name(vendor, option)
  return ("USERUPD_%s_%s"):format(vendor:upper(), option:upper())
end

local TRUE = { ["1"] = true, ["true"] = true, yes = true, on = true }
local FALSE = { ["0"] = false, ["false"] = false, no = false, off = false }

-- Converts an environment string to the option's type.  Messages name the
-- variable, never its value: it may be a secret.
local function from_env(raw, spec, var)
  local kind = spec.type or "string"
  if kind == "integer" then
    local n = tonumber(raw)
    if not n or n ~= math.floor(n) then fail("%s must be a whole number", var) end
    return math.tointeger and math.tointeger(n) or n
  elseif kind == "number" then
    return tonumber(raw) or fail("%s must be a number", var)
  elseif kind == "boolean" then
    local b = TRUE[raw:lower()]
    if b == nil then b = FALSE[raw:lower()] end
    if b == nil then fail("%s must be true or false", var) end
    return b
  end
  return raw
end

-- A --config file: Lua returning a table of client options.
local function load_config(path)
  if not path then return {} end
  local chunk, why = loadfile(path)
  if not chunk then fail("cannot load --config: %s", why) end
  local ok, t = pcall(chunk)
  if not ok then fail("--config %s raised an error: %s", path, tostring(t)) end
  if type(t) ~= "table" then
    fail("--config %s must return a table of client options, got %s", path,
         type(t))
  end
  return t
end

-- "USERUPD_X_A, USERUPD_X_B": where the vendor's options come from.
local function option_vars(userupd, vendor)
  local vars = {}
  for name in pairs(userupd.vendors[vendor].options) do
    vars[#vars + 1] = env_name(vendor, name)
  end
  table.sort(vars)
  return table.concat(vars, ", ")
end

local function check_required(options, opts, vendor, config)
  local names = {}
  for name in pairs(options) do names[#names + 1] = name end
  table.sort(names) -- a stable message when several are missing
  for _, name in ipairs(names) do
    if options[name].required and opts[name] == nil then
      fail("missing %s %s for %s: set %s in the environment%s",
           options[name].secret and "credential" or "option", name, vendor,
           env_name(vendor, name),
           config and (" or " .. name .. " in " .. config) or
             " (or use --config FILE)")
    end
  end
end

-- Client options: the --config file, then the environment, then flags.
local function client_options(spec, vendor, args)
  local opts = load_config(args.config)
  for name, option in pairs(spec.options) do
    local var = env_name(vendor, name)
    local raw = os.getenv(var)
    if raw and raw ~= "" then opts[name] = from_env(raw, option, var) end
  end
  if args.base_url then opts.base_url = args.base_url end
  if args.rate then opts.rate = args.rate end
  check_required(spec.options, opts, vendor, args.config)
  return opts
end

local function make_client(userupd, vendor, args)
  local opts = client_options(userupd.vendors[vendor], vendor, args)
  local ok, client = pcall(userupd.new, vendor, opts)
  if not ok then
    fail("cannot set up the %s client: %s\n(its options come from %s or " ..
         "--config FILE)", vendor, tostring(client),
         option_vars(userupd, vendor))
  end
  return client
end

---------------------------------------------------------------------------
-- Input: CSV or JSONL rows, then the mapping

local function input_format(path, format)
  if format then return format end
  local ext = path:match("%.(%w+)$")
  ext = ext and ext:lower()
  if ext == "csv" then return "csv" end
  if ext == "jsonl" or ext == "ndjson" then return "jsonl" end
  fail("cannot tell the format of %s from its name; give --format csv|jsonl",
       path)
end

-- JSON Lines as rows: (object, lineno) or (false, lineno, message).
local function jsonl_rows(fh, decode)
  local lineno = 0
  return function()
    while io.type(fh) == "file" do
      local line = fh:read("*l")
      if not line then
        if fh ~= io.stdin then fh:close() end
        return nil
      end
      lineno = lineno + 1
      line = line:gsub("\r$", "")
      if line:find("%S") then
        local ok, value, why = pcall(decode, line)
        if ok and type(value) == "table" then return value, lineno end
        if ok and value ~= nil then why = "expected a JSON object" end
        return false, lineno, "bad JSON: " .. tostring(ok and why or value)
      end
    end
  end
end

-- Opens the input; returns a rows iterator with the csv reader's shape,
-- messages without their "line N: " prefix (callers add it).
local function open_input(path, format, userupd)
  if format == "csv" then
    local reader, why = csv.open(path == "-" and io.stdin or path)
    if not reader then fail("cannot read %s: %s", path, why) end
    local rows = reader:rows()
    return function()
      local row, lineno, msg = rows()
      if row == false then msg = msg:gsub("^line %d+: ", "") end
      return row, lineno, msg
    end
  end
  local fh, why = io.stdin, nil
  if path ~= "-" then fh, why = io.open(path, "rb") end
  if not fh then fail("cannot read %s", why) end
  return jsonl_rows(fh, userupd.json_decode)
end

local function load_map(path)
  local chunk, why = loadfile(path)
  if not chunk then fail("cannot load --map: %s", why) end
  local ok, fn = pcall(chunk)
  if not ok then fail("--map %s raised an error: %s", path, tostring(fn)) end
  if type(fn) ~= "function" then
    fail("--map %s must return a function(row, vendor), got %s", path, type(fn))
  end
  return fn
end

-- Runs the mapping on one row.  Returns id, fields; nil to skip; or false
-- and a message.  An error in the mapping is the row's fault, not the run's.
local function map_row(map, row, vendor)
  local ok, id, fields = pcall(map, row, vendor)
  if not ok then return false, "map: " .. tostring(id) end
  if id == nil or id == false then return nil end
  local t = type(id)
  if t ~= "number" and t ~= "string" then
    return false, ("map returned a %s id (number or string expected)"):format(t)
  end
  if type(fields) ~= "table" then
    return false, ("map returned %s fields (a table expected)")
      :format(type(fields))
  end
  return id, fields
end

-- Iterator over mapped records: id, fields, lineno.  Bad rows go to
-- on_invalid(lineno, message) and rows the map skips are counted, so the
-- caller only sees what can be sent.
local function records(rows, map, vendor, counts, on_invalid)
  return function()
    for row, lineno, why in rows do
      local id, fields = false, why
      if row then id, fields = map_row(map, row, vendor) end
      if id == nil then
        counts.skipped = counts.skipped + 1
      elseif id == false then
        counts.invalid = counts.invalid + 1
        on_invalid(lineno, fields)
      else
        return id, fields, lineno
      end
    end
    return nil
  end
end

---------------------------------------------------------------------------
-- apply

-- A module error as "field: message"; the field is named once, and
-- module messages often name it already.
local function describe_error(e)
  if type(e) ~= "table" then return tostring(e) end
  local msg = tostring(e.message or e)
  local field = e.field and tostring(e.field)
  if field and not msg:find(field, 1, true) then msg = field .. ": " .. msg end
  return msg
end

local function dry_run(client, recs, counts)
  local ready = 0
  for id, fields, lineno in recs do
    local req, e = client:prepare(id, fields)
    if req then
      ready = ready + 1
      out(("# line %d, id %s"):format(lineno, tostring(id)))
      out(tostring(req))
    else
      counts.invalid = counts.invalid + 1
      out(("line %d: invalid: %s"):format(lineno, describe_error(e)))
    end
  end
  counts.ok = ready
  out(("dry run: %d requests ready, %d invalid, %d skipped; nothing was sent")
      :format(ready, counts.invalid, counts.skipped))
  return counts.invalid > 0 and 1 or 0
end

local function sorted_kinds(by_kind)
  local parts = {}
  for kind, n in pairs(by_kind) do
    if n > 0 then parts[#parts + 1] = ("%s %d"):format(kind, n) end
  end
  table.sort(parts)
  return table.concat(parts, ", ")
end

-- Adds what the CLI counted itself (input and mapping errors, rows the map
-- skipped) to the module's summary.
local function merge_summary(summary, counts)
  local by_kind = {}
  for kind, n in pairs(summary.by_kind or {}) do by_kind[kind] = n end
  if counts.invalid > 0 then
    by_kind.invalid = (by_kind.invalid or 0) + counts.invalid
  end
  counts.ok = summary.ok or 0
  counts.failed = summary.failed or 0
  counts.invalid = counts.invalid + (summary.invalid or 0)
  counts.skipped = counts.skipped + (summary.skipped or 0)
  counts.unchanged = summary.unchanged or 0
  counts.elapsed = summary.elapsed or 0
  counts.by_kind = by_kind
  return counts
end

local function print_summary(vendor, c)
  out(("%s: ok %d, failed %d, invalid %d, skipped %d, unchanged %d " ..
       "in %.1f s"):format(vendor, c.ok, c.failed, c.invalid, c.skipped,
                           c.unchanged, c.elapsed))
  local kinds = sorted_kinds(c.by_kind)
  if kinds ~= "" then out("  by kind: " .. kinds) end
end

local function real_run(client, recs, counts, vendor, args)
  local function source()
    local id, fields = recs()
    return id, fields
  end
  local summary = client:update_many(source, {
    concurrency = args.concurrency,
    journal = args.journal,
    -- Left unset, the module draws the bar only when stderr is a terminal.
    progress = args.no_progress and false or nil,
    on_result = function(id, _, e)
      if e then
        err_line(("%s: %s: %s"):format(tostring(id), tostring(e.kind),
                                       describe_error(e)))
      end
    end,
  })
  merge_summary(summary, counts)
  print_summary(vendor, counts)
  return (counts.failed > 0 or counts.invalid > 0) and 1 or 0
end

local function cmd_apply(args)
  if not args.input then fail("missing --input FILE (the users to update)") end
  if not args.map then fail("missing --map MAP.lua (row -> id, fields)") end
  local userupd = load_module()
  local vendor = args.vendor:lower() -- "QuestionPro" means questionpro
  check_vendor(userupd, vendor)
  local format = input_format(args.input, args.format)
  local map = load_map(args.map)
  local client = make_client(userupd, vendor, args)
  local rows = open_input(args.input, format, userupd)
  local counts = { vendor = vendor, ok = 0, failed = 0, invalid = 0,
                   skipped = 0, unchanged = 0 }
  local report = args.dry_run and out or err_line
  local recs = records(rows, map, vendor, counts, function(lineno, msg)
    report(("line %d: %s%s"):format(lineno, args.dry_run and "invalid: " or "",
                                    msg))
  end)
  if args.dry_run then return dry_run(client, recs, counts), counts end
  return real_run(client, recs, counts, vendor, args), counts
end

---------------------------------------------------------------------------
-- failures

-- The payload the journal kept (the fields as JSON, never credentials:
-- the module leaves them out) as a table, or nil.
local function payload_fields(userupd, payload)
  if type(payload) == "string" then payload = userupd.json_decode(payload) end
  if type(payload) ~= "table" then return nil end
  return payload
end

local function jsonl_writer(userupd)
  local function enc(v)
    if v == nil then return "null" end
    return userupd.json_encode(v) or "null"
  end
  -- Built by hand so the keys keep this order in every line.
  return function(f)
    out(('{"id":%s,"state":%s,"kind":%s,"status":%s,"message":%s,' ..
         '"fields":%s}'):format(enc(f.id), enc(f.state), enc(f.kind),
                                enc(f.status), enc(f.message),
                                enc(payload_fields(userupd, f.payload))))
  end
end

local function csv_writer()
  csv.write_row(io.stdout, { "id", "state", "kind", "status", "attempts",
                             "message" })
  return function(f)
    csv.write_row(io.stdout, { f.id, f.state, f.kind, f.status, f.attempts,
                               f.message, n = 6 })
  end
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

local function cmd_failures(args)
  if not args.journal then fail("missing --journal FILE") end
  local userupd = load_module()
  local journal, why = userupd.journal(args.journal)
  if not journal then fail("cannot open the journal: %s", tostring(why)) end
  local write = args.format == "csv" and csv_writer() or jsonl_writer(userupd)
  local count = 0
  for f in each_failure(journal) do
    write(f)
    count = count + 1
  end
  journal:close()
  return 0, { failures = count }
end

---------------------------------------------------------------------------
-- Entry points

local function cmd_version()
  out("userupd " .. tostring(load_module().version))
  return 0
end

local COMMANDS = { apply = cmd_apply, failures = cmd_failures }

-- Runs a command; a Usage error becomes exit status 2 with its message.
local function guarded(fn, args)
  local ok, code, counts = pcall(fn, args)
  if ok then return code, counts end
  if getmetatable(code) == Usage then
    err_line("userupd: ", code.message)
  else
    err_line("userupd: internal error: ", tostring(code))
  end
  return 2
end

function cli.run(argv)
  local state = {}
  local parser = build_parser(state)
  local ok, args = parser:pparse(argv)
  if state.help then
    out(state.help:get_help())
    return 0
  end
  local command = state.commands[argv[1]] or parser
  if not ok then
    err_line(command:get_usage(), "\n\nError: ", args)
    return 2
  end
  if state.version then return guarded(cmd_version) end
  if not args.command then
    err_line(parser:get_usage(), "\n\nError: a command is required")
    return 2
  end
  return guarded(COMMANDS[args.command], args)
end

function cli.main(argv)
  local code = cli.run(argv or {})
  io.stdout:flush()
  return code
end

return cli
