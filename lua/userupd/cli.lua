-- userupd.cli: the `userupd` command line.
--
--   userupd apply VENDOR --input FILE --map MAP.lua [...]
--   userupd failures --journal FILE [--format csv|jsonl]
--
-- cli.main(argv) returns the exit status: 0 everything succeeded, 1 some
-- records failed, were invalid or duplicates, or the run stopped early,
-- 2 a usage or configuration error, 130 interrupted (Ctrl-C).
-- cli.run(argv) returns the same status plus a table of counts (the demo
-- and tests read it).
--
-- The parts live in userupd.cli.*: setup (module, client, credentials),
-- input (rows, blank cells, encoding), records (map, duplicates),
-- progress, run (dry run, summary), send (the real run), failures.
--
-- Credentials never come from arguments, which any user can read in `ps`:
-- they come from USERUPD_<VENDOR>_<OPTION> environment variables or from a
-- --config file, and no message prints their values.

local argparse = require "argparse"
local util = require "userupd.cli.util"
local setup = require "userupd.cli.setup"
local input = require "userupd.cli.input"
local records = require "userupd.cli.records"
local progress = require "userupd.progress"
local run = require "userupd.cli.run"
local send = require "userupd.cli.send"
local failures = require "userupd.cli.failures"
local summary = require "userupd.cli.summary"
local metrics = require "userupd.cli.metrics"
local term = require "userupd.cli.term"
local plan = require "userupd.cli.plan"
local inspect = require "userupd.cli.inspect"
local preview = require "userupd.cli.preview"
local refused = require "userupd.cli.refused"
local reasons = require "userupd.cli.reasons"
local utf8check = require "userupd.cli.utf8check"

local out, err_line, fail = util.out, util.err_line, util.fail
local cli = {}

---------------------------------------------------------------------------
-- Arguments

-- A count flag: a whole number from min to max (2^53 - 1 by default: the
-- library refuses more, and a refusal there would read as an internal
-- error), named in the message.
local function whole_number(flag, min, max)
  max = max or 9007199254740991
  return function(s)
    local n = tonumber(s)
    if n and n >= min and n <= max and n == math.floor(n) then return n end
    return nil, ("%s: expected a whole number from %d to %s, got '%s'")
      :format(flag, min, max == 9007199254740991 and "2^53 - 1" or
              ("%d"):format(max), s)
  end
end

local function rate_number(s)
  local n = tonumber(s)
  if n and n >= 0 and n < math.huge then return n end
  return nil, ("expected a number of requests per second (0 for no " ..
               "pacing), got '%s'"):format(s)
end

local function separator(s)
  if s == "\\t" or s == "tab" then return "\t" end
  if #s == 1 and not s:find('["\r\n]') then return s end
  return nil, ("expected one character (or \\t), got '%s'"):format(s)
end

local APPLY_EPILOG = [[
Credentials are never taken from arguments. Set them in the environment as
USERUPD_<VENDOR>_<OPTION>, upper-cased (USERUPD_QUESTIONPRO_API_KEY,
USERUPD_FORMSONFIRE_COMPANY_ID, ...), or put the client options in a Lua
file that returns a table and pass it with --config (the environment wins).

MAP.lua returns function(row, vendor) -> id, fields [, extra]. Return nil
to skip a row; an error raised for a row counts that row as invalid. extra
is a table of members the vendor's descriptor lacks, sent after the
documented ones and marked as extra in --dry-run. An empty cell
reaches the map as nil: the field is left out and the vendor keeps its
value. To clear a field, return userupd.null for it, or run with
--blank=clear: then an empty cell reaches the map as "" (so string
helpers keep working) and a field returned as "" is sent as a clear.
userupd.is_blank(v) is true for nil, "", spaces and userupd.null.

With --journal, a re-run sends only the records whose payload differs from
the last one that succeeded (changed rows, failures, new rows): the same
command resumes an interrupted run and serves as the nightly sync.

A second row with an id already seen is refused and reported with both
line numbers; the first row is the one sent.

Exit status: 0 all records succeeded or were unchanged, 1 some failed, were
invalid or duplicates, or the run stopped early, 2 usage or configuration
error, 130 interrupted (Ctrl-C; run the same command again to resume).]]

-- Where a command that talks to the vendor sends, and how fast.
local function add_client_options(command)
  command:option("--base-url", "Send to this scheme and host instead " ..
    "(a sandbox, a proxy, a region). (default: the vendor's host)")
    :argname "URL"
  command:option("--config", "Lua file returning a table of client " ..
    "options. (default: none)")
    :argname "FILE"
  command:option("--rate", "Requests per second (overrides the vendor's " ..
    "default pace; 0 means no pacing). (default: the vendor's " ..
    "documented pace)")
    :argname "R":convert(rate_number)
end

local function add_run_options(apply)
  apply:option("--concurrency", "Requests in flight at once. (default: " ..
    "8, or fewer where the vendor allows fewer connections)")
    :argname "N":convert(whole_number("--concurrency", 1, 256))
  apply:option("--rate", "Requests per second (overrides the vendor's " ..
    "default pace; 0 means no pacing). (default: the vendor's " ..
    "documented pace)")
    :argname "R":convert(rate_number)
  apply:option("--base-url", "Send to this scheme and host instead " ..
    "(a sandbox, a proxy, a region). (default: the vendor's host)")
    :argname "URL"
  apply:option("--config", "Lua file returning a table of client " ..
    "options. (default: none)")
    :argname "FILE"
  apply:option("--max-failures", "Stop after N failures in a row (the " ..
    "run always stops after 5 authentication failures in a row). Counts " ..
    "answers from the vendor and transport errors; invalid rows never " ..
    "reach the vendor and count toward --max-invalid instead. " ..
    "(default: none)")
    :argname "N":convert(whole_number("--max-failures", 1))
  apply:option("--max-rate-limited", "Stop after N records in a row " ..
    "were still rate-limited after their retries (a 429 storm, a spent " ..
    "allowance), leaving the rest pending (exit 75); 0 never stops.")
    :argname "N":convert(whole_number("--max-rate-limited", 0))
    :default("5")
  apply:option("--max-invalid", "Stop (sending nothing more) once more " ..
    "than N invalid rows were read, or more than N% of the rows read " ..
    "(counted from the " .. reasons.MIN_ROWS .. "th row on): a file whose " ..
    "first rows are all invalid stops before anything is sent.")
    :argname "N|N%":convert(reasons.limit):default(reasons.DEFAULT_LIMIT)
  apply:flag("--changed-fields", "With --journal: send only the fields " ..
    "that differ from the last successful payload.")
end

-- The plan and what it shows (userupd.cli.plan, .diff, .summary).
local function add_plan_options(apply)
  apply:flag("--show-requests", "With --dry-run: print each request the " ..
    "real run would send (with --journal: only changed, new and failed " ..
    "rows).")
  apply:flag("--diff", "With --dry-run: for the first 20 rows it would " ..
    "send, each field that differs from the last successful payload in " ..
    "the journal (secret fields redacted).")
  apply:flag("--diff-all", "With --diff: every row, not only the first 20.")
  apply:option("--summary-json", "Write the run's summary to FILE as a " ..
    "JSON object (schema userupd.summary/1, see docs/cli.md); dry runs " ..
    "too. (default: none)")
    :argname "FILE"
end

local function add_input_options(apply)
  apply:option("--format", "Input format, when the file name does not " ..
    "tell. (default: from the file name)")
    :choices({ "csv", "jsonl" })
  apply:option("--sep", "CSV field separator (\\t for tab). (default: ,)")
    :argname "C":convert(separator)
  apply:flag("--strict-csv", "Refuse a row with a quote inside an " ..
    "unquoted field (default: take it as text, as spreadsheets do, and " ..
    "warn once).")
  apply:option("--blank", "Empty cells (and JSON null): absent gives " ..
    "the map nil, so the field is left out and the vendor keeps its " ..
    "value; clear gives the map \"\" and sends a field the map returns " ..
    "as \"\" as a clear (userupd.null).")
    :choices({ "absent", "clear" }):default("absent")
  apply:flag("--dry-run", "Validate every row and print a summary; " ..
    "send nothing.")
  apply:option("--metrics-file", "Write the run's metrics to FILE in " ..
    "Prometheus text format (node_exporter's textfile collector), every " ..
    "few seconds while it runs and at the end, each time whole (a " ..
    "temporary file renamed); see docs/observability.md. (default: none)")
    :argname "FILE"
end

-- Progress and log lines (docs/cli.md: logs for unattended runs).
local function add_output_options(apply)
  apply:flag("--no-progress", "Do not show progress at all.")
  apply:flag("--progress", "Show progress even when stderr is not a " ..
    "terminal, and a last progress line even for a short run (a file " ..
    "gets plain lines, never terminal control codes).")
  apply:option("--progress-every", "Without a terminal (or with " ..
    "TERM=dumb): a plain progress line every S seconds (rows done, rate, " ..
    "ETA); 0 for none.")
    :argname "S":convert(whole_number("--progress-every", 0))
    :default(tostring(term.EVERY))
  apply:option("--log-format", "stderr lines: text starts each with an " ..
    "ISO time and the vendor (2026-12-07T12:00:00Z questionpro: ...), " ..
    "json writes one JSON object a line, plain the message alone.")
    :choices({ "text", "json", "plain" }):default("text")
end

local function add_apply(parser, vendors, name)
  local apply = name and parser:command(name, "Preview a run against " ..
    "VENDOR: for a sample of the rows it would send, read the user's " ..
    "current record there and print what would change, field by field " ..
    "(a dry run: nothing is sent, the journal is not written).",
    "Each read is one GET, counted against the client's rate, shared " ..
    "budget and daily quota;\nthe count is printed before the first read.")
    or parser:command("apply", "Send one update per input row to VENDOR.",
                      APPLY_EPILOG)
  apply:argument("vendor", "One of: " .. vendors .. "."):argname "VENDOR"
  apply:option("--input", "Users to update: a .csv, .jsonl or .ndjson " ..
    "file, or - for standard input (then give --format). (required)")
    :argname "FILE"
  apply:option("--map", "Lua file returning function(row, vendor) -> " ..
    "id, fields. (required)"):argname "MAP.lua"
  apply:option("--journal", "Journal database: a re-run sends only what " ..
    "changed or failed. (default: none: every row is sent)")
    :argname "FILE"
  apply:flag("--journal-rebind", "With --journal: use a journal written " ..
    "for another account (key) or --base-url, because it holds the same " ..
    "users; without it such a journal is refused.")
  add_run_options(apply)
  add_input_options(apply)
  add_output_options(apply)
  add_plan_options(apply)
  if name then
    apply:option("--sample", ("Rows to read at the vendor (default " ..
      "%d)."):format(preview.SAMPLE)):argname "N"
      :convert(whole_number("--sample", 1))
  else
    apply:option("--against-vendor", "With --dry-run: read N of the rows " ..
      "it would send at the vendor and show what would change there. " ..
      "(default: none)")
      :argname "N":convert(whole_number("--against-vendor", 1))
  end
  return apply
end

local function add_failures(parser)
  local f = parser:command("failures",
    "Print the rows a journal holds as failed or invalid, and the rows " ..
    "the last run refused before sending (map errors, short rows, bad " ..
    "ids, duplicates).",
    "csv and jsonl carry the same columns: id, line (of the input), state\n" ..
    "(failed, invalid, refused), kind, status, attempts, message, payload\n" ..
    "(the fields that were sent, as JSON, or null; never credentials),\n" ..
    "time (UTC), run (the journal's run number), cells (the input row,\n" ..
    "secret cells redacted). --format input prints the refused rows as\n" ..
    "the input's CSV, to fix and feed back with --input.")
  f:option("--journal", "Journal written by `userupd apply " ..
    "--journal`. (required)"):argname "FILE"
  f:option("--format", "Output format.")
    :choices({ "csv", "jsonl", "input" }):default("jsonl")
  f:option("--output", "Write to FILE, created readable by its owner " ..
    "only (0600), instead of standard output."):argname "FILE"
  f:flag("--prune", "Remove the rows absent from the last complete " ..
    "run's input from the list.")
  return f
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
  -- argparse's completion option, with our action instead of its exit
  parser:add_complete{ "--completion", argname = "SHELL",
    description = "Print a completion script for SHELL (bash, zsh or " ..
      "fish) and exit.",
    action = function(_, _, shell) state.completion = shell end }
  parser:command_target("command")
  parser:require_command(false)
  state.commands = {
    apply = add_apply(parser, setup.vendor_list()),
    failures = add_failures(parser),
    diff = add_apply(parser, setup.vendor_list(), "diff"),
  }
  for name, command in pairs(inspect.add_commands(parser,
      setup.vendor_list(), add_client_options)) do
    state.commands[name] = command
  end
  for _, command in pairs(state.commands) do
    command:add_help(help_of(command))
  end
  return parser
end

---------------------------------------------------------------------------
-- apply

local function new_counts(vendor, args)
  return summary.new(vendor, { dry_run = args.dry_run })
end

-- The progress line: on when stderr is a terminal, unless told.

-- Counts the rows first, says how long the run will take, and makes the
-- progress line.
local function make_progress(ctx, format)
  local args, userupd = ctx.args, ctx.userupd
  local pace = ctx.opts.rate or userupd.vendors[ctx.vendor].rate or 0
  local mode = term.mode(args, os.getenv, userupd)
  local total, approx
  if mode ~= "off" or pace > 0 then  -- counting reads the whole file once
    total, approx = input.count(args.input, format, args)
  end
  local journal = ctx.args.journal and io.open(ctx.args.journal, "rb")
  if journal then journal:close() end
  local note = progress.estimate(total, pace, setup.TITLES[ctx.vendor] or
                                 ctx.vendor, journal ~= nil)
  if note then err_line(note) end
  return progress.new{ total = total, approx = approx, pace = pace,
    mode = mode, forced = args.progress,
    width = term.width(os.getenv, userupd),
    every = args.progress_every or term.EVERY }
end

-- Refused rows, grouped by reason (userupd.cli.reasons); a hint for the
-- whole file (Windows-1252) is printed once, not once a row.
local function row_reporter(args, group)
  return function(lineno, msg, invalid)
    if args.quiet_rows then return end   -- counting what a stop left
    msg = util.one_line(msg)
    local at = msg:find("; " .. utf8check.HINT, 1, true)
    if at then
      msg = msg:sub(1, at - 1)
      group:hint(utf8check.HINT)
    end
    local reason = not invalid and "duplicate id (the first row is sent)"
      or reasons.key(msg)
    group:row(("line %d: %s%s"):format(lineno,
      (invalid and args.dry_run) and "invalid: " or "", msg), reason)
  end
end

-- A record client:prepare refused in the first rows (records.checked):
-- counted and reported as update_many would; true when the run must stop.
local function refuse_row(args, counts, group)
  return function(lineno, id, e, row, fields)
    local msg = util.describe_error(e)
    if counts.refused then
      counts.refused:add(lineno, "invalid", msg, row, id, fields)
    end
    counts.invalid = counts.invalid + 1
    counts.by_kind.invalid = (counts.by_kind.invalid or 0) + 1
    counts.invalid_lines[#counts.invalid_lines + 1] = lineno
    group:row(("line %d: %sinvalid: %s"):format(lineno, args.dry_run and ""
      or ("id %s: "):format(util.one_line(id)), msg), reasons.key(msg))
    return counts.guard(counts.read or 0)
  end
end

-- --max-invalid: the stream ends (nothing more is sent) once too many of
-- the rows read were refused; a dry run only notes where a real run would
-- have stopped.
local function invalid_guard(args, counts, group)
  local limit = args.max_invalid
  return function(read)
    if args.quiet_rows then return false end  -- counting what a stop left
    if counts.invalid_stop then return not args.dry_run end
    local why = group:over(limit, read)
    if not why then return false end
    counts.invalid_stop = why
    return not args.dry_run
  end
end

-- A journal must go into a directory that exists: said before anything
-- else, in words (SQLite would say "unable to open database file").
local function check_journal_dir(path)
  if not path then return end
  local dir = path:match("^(.*)/[^/]*$")
  if dir == "" then dir = "/" end
  if dir and not os.rename(dir, dir) then
    fail("--journal %s: the directory %s does not exist", util.one_line(path),
         util.one_line(dir))
  end
end

-- A file the run writes at its end (--summary-json, --metrics-file) must
-- be writable before the first row is read: found out after the run, it
-- would cost the operator the file with the run already sent (exit 0).
local function check_output(flag, path, userupd, replaced)
  if not path then return end
  local kind = userupd._file_kind and userupd._file_kind(path)
  if replaced and kind and kind ~= "file" then  -- PATH.tmp renamed over it
    fail("%s %s: not a regular file (the file is written whole and " ..
         "renamed into place, which would replace it)", flag,
         util.one_line(path))
  end
  local fh = io.open(path, "rb")
  local probe = fh and path or path .. ".userupd-check"
  if fh then fh:close() end
  local w, why = io.open(probe, "ab")       -- never truncates a file
  if not w then
    fail("%s %s: cannot write it: %s", flag, util.one_line(path),
         util.one_line(why))
  end
  w:close()
  if probe ~= path then os.remove(probe) end
end

local function prepare_apply(args)
  if not args.input then fail("missing --input FILE (the users to update)") end
  if not args.map then fail("missing --map MAP.lua (row -> id, fields)") end
  if args.show_requests and not args.dry_run then
    fail("--show-requests goes with --dry-run")
  end
  if args.against_vendor and not args.dry_run then
    fail("--against-vendor goes with --dry-run (or use `userupd diff`)")
  end
  if (args.diff or args.diff_all) and not args.dry_run then
    fail("--diff goes with --dry-run (it shows what the real run would " ..
         "change)")
  end
  args.diff = args.diff or args.diff_all
  if args.journal_rebind and not args.journal then
    fail("--journal-rebind goes with --journal FILE")
  end
  if args.changed_fields and not args.journal then
    fail("--changed-fields needs --journal FILE (it compares with the " ..
         "last payload sent)")
  end
  check_journal_dir(args.journal)
  local userupd = setup.load_module()
  check_output("--summary-json", args.summary_json, userupd)
  check_output("--metrics-file", args.metrics_file, userupd, true)
  local vendor = args.vendor:lower() -- "QuestionPro" means questionpro
  setup.check_vendor(userupd, vendor)
  util.log.vendor, util.log.format = vendor, args.log_format
  util.log.encode = userupd.json_encode
  local format = input.format(args.input, args.format)
  local map, map_opts = records.load_map(args.map)
  if map_opts.blank == "clear" then args.blank = "clear" end
  if args.blank == "clear" then map = records.clearing(map, userupd.null) end
  return { userupd = userupd, vendor = vendor, args = args, map = map,
           seen = {} }, format
end

-- --metrics-file FILE once the run is over.
local function write_metrics(ctx, code)
  local ok, why = ctx.metrics:write(code)
  if not ok then
    err_line(("userupd: cannot write --metrics-file %s: %s"):format(
      util.one_line(ctx.args.metrics_file), util.one_line(why)))
  end
end

-- --summary-json FILE and --metrics-file FILE once the run is over; the
-- status stays the run's.
local function finish(ctx, counts, code)
  if ctx.metrics then
    if not counts.finished then counts:finish() end
    write_metrics(ctx, code)
  end
  local path = ctx.args.summary_json
  if path then
    if not counts.finished then counts:finish() end
    if counts.refused then               -- no secret cell in a reason
      counts:redact_reasons(function(text)
        return counts.refused:redact(text)
      end)
    end
    local ok, why = counts:write_json(path, ctx.userupd.json_encode,
                                      ctx.userupd.null)
    if not ok then
      err_line(("userupd: cannot write --summary-json %s: %s"):format(
        util.one_line(path), util.one_line(why)))
    end
  end
  return code, counts
end

-- The dry run, and with --against-vendor N (or `userupd diff`) the live
-- preview of N of the rows it would send.
local function planned(client, recs, counts, ctx)
  local n = ctx.args.against_vendor
  if not n then return plan.run(client, recs, counts, ctx) end
  local rows
  rows, ctx.on_ready = preview.sampler(n)
  local code = plan.run(client, recs, counts, ctx)
  local reads, failed = preview.run(client, ctx, rows, counts.quota_left)
  counts.preview_reads, counts.preview_failed = reads, failed
  return code
end

local WAIT_WHY = { retry_after = "Retry-After from %s", backoff =
  "backing off after an error from %s", budget = "the shared budget for %s" }

-- Every attempt: retries and time waited for the summary, and a wait
-- longer than a second on the progress line with its reason ("waiting
-- 20 s: Retry-After from QuestionPro").  ctx.counts and ctx.bar come later.
local function attempt_hook(ctx, chain)
  local title = setup.TITLES[ctx.vendor] or ctx.vendor
  return function(a)
    local c = ctx.counts
    if c then
      if (a.attempt or 1) > 1 then c.retries = (c.retries or 0) + 1 end
      if (a.wait or 0) > 0 then c.waited = (c.waited or 0) + a.wait end
    end
    if ctx.bar and a.verdict == "retry" and (a.retry_in or 0) > 1 then
      ctx.bar:set_wait(a.retry_in, (WAIT_WHY[a.retry_reason] or
        "retrying %s"):format(title))
    end
    if chain then return chain(a) end
  end
end

-- The target, once every usage check passed and before any row is read.
local function name_target(ctx, client, origin)
  for _, line in ipairs(setup.target_lines(ctx.userupd, ctx.vendor, client,
                                           ctx.opts, origin)) do
    err_line(line)
  end
end

-- libcurl writes the TLS session keys of every connection to the file
-- SSLKEYLOGFILE names (docs/security.md): with a capture, that file
-- reads the credentials.  Said once, before anything is sent.
local function warn_keylog()
  local path = os.getenv("SSLKEYLOGFILE")
  if path and path ~= "" then
    err_line(util.one_line(("warning: SSLKEYLOGFILE is set: libcurl " ..
      "writes this run's TLS session keys to %s, which with a capture of " ..
      "the traffic shows the credentials; unset it unless you are " ..
      "debugging"):format(path)))
  end
end

local function cmd_apply(args)
  local ctx, format = prepare_apply(args)
  local client, origin, hooks
  if args.metrics_file then              -- counts it from every attempt
    ctx.metrics = metrics.new(args.metrics_file, {}, ctx.vendor)
  end
  hooks = { on_attempt = attempt_hook(ctx, ctx.metrics and
                                           ctx.metrics:hook()) }
  client, ctx.opts, origin = setup.make_client(ctx.userupd, ctx.vendor, args,
                                               hooks)
  local rows = input.open(args.input, format, args, ctx.userupd, ctx.seen)
  name_target(ctx, client, origin)
  warn_keylog()
  local counts = new_counts(ctx.vendor, args)
  ctx.counts = counts
  -- refused rows: for `failures` (a real run with a journal; a plan
  -- writes nothing) and to learn which cells are secrets
  counts.refused = refused.new(ctx.userupd, ctx.vendor, ctx.seen)
  local group = reasons.new(counts)
  counts.group = group
  counts.guard = invalid_guard(args, counts, group)
  if ctx.metrics then ctx.metrics.counts = counts end
  local recs = records.stream(rows, ctx.map, ctx.vendor, counts,
    row_reporter(args, group), counts.guard)
  recs = records.checked(recs, client, reasons.MIN_ROWS,
    refuse_row(args, counts, group), function()
      return counts.guard(counts.read or 0)
    end)
  if args.dry_run then
    return finish(ctx, counts, planned(client, recs, counts, ctx))
  end
  local bar = make_progress(ctx, format)
  ctx.bar = bar
  ctx.seen.on_missing = function(k)
    err_line(util.one_line(("warning: the map read column %q, which the " ..
      "input does not have%s"):format(k,
      input.with_hint(ctx.seen, k):sub(#k + 1))))  -- the hint quotes the file
  end
  return finish(ctx, counts, send.real(client, recs, counts, ctx, bar))
end

---------------------------------------------------------------------------
-- Entry points

local function cmd_version()
  out("userupd " .. tostring(setup.load_module().version))
  return 0
end

-- `userupd diff`: a dry run with the live preview.
local function cmd_diff(args)
  args.dry_run = true
  args.against_vendor = args.sample or preview.SAMPLE
  return cmd_apply(args)
end

local COMMANDS = { apply = cmd_apply, failures = failures.command,
                   fields = inspect.fields, get = inspect.get,
                   diff = cmd_diff }

-- Runs a command; a Usage error becomes exit status 2 with its message,
-- Ctrl-C outside a run (Lua's own "interrupted!") exit status 130, SIGTERM
-- ("terminated!", userupd.catch_sigterm) 143.
local function guarded(fn, args)
  local ok, code, counts = pcall(fn, args)
  if ok then return code, counts end
  util.around_err = nil
  if getmetatable(code) == util.Usage then
    util.log.format = "plain"       -- one plain line, before any row is read
    err_line("userupd: ", util.one_line(code.message)) -- text from outside
    return 2
  end
  if tostring(code):find("interrupted!$") then
    err_line("\ninterrupted: nothing more was sent; run the same command " ..
             "again to resume")
    return run.INTERRUPTED
  end
  if tostring(code):find("terminated!$") then      -- userupd.catch_sigterm
    err_line("\nterminated (SIGTERM): nothing more was sent; run the " ..
             "same command again to resume")
    return 143
  end
  err_line("userupd: internal error: ", util.one_line(code))
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
  if ok and state.completion then
    io.stdout:write(parser["get_" .. state.completion .. "_complete"](parser))
    return 0
  end
  local command = state.commands[argv[1]] or parser
  if not ok then
    err_line(command:get_usage(), "\n\nError: ", util.one_line(args))
    return 2
  end
  if state.version then return guarded(cmd_version) end
  if not args.command then
    err_line(parser:get_usage(), "\n\nError: a command is required")
    return 2
  end
  return guarded(COMMANDS[args.command], args)
end

-- The whole parser, every command and flag (the man page and the
-- completion scripts are made from it: tools/gencli).
function cli.parser()
  return build_parser({})
end

function cli.main(argv)
  -- SIGTERM outside update_many: a Lua error, as Ctrl-C is (sigterm.c)
  local ok, userupd = pcall(require, "userupd")
  if ok and type(userupd) == "table" and userupd.catch_sigterm then
    userupd.catch_sigterm()
  end
  local code = cli.run(argv or {})
  io.stdout:flush()
  return code
end

return cli
