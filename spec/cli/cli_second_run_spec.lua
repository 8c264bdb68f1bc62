-- The CLI's second run, end to end in real child processes against the
-- sandbox: the nightly re-run with a journal (a changed email, a blanked
-- cell), the stop after repeated auth failures, duplicate ids, the dry-run
-- summary, Ctrl-C (SIGINT to the child) and the resume after it, and the
-- messages an operator sees for common input mistakes.
local sandbox = require "support.sandbox"
local sleep = require("system").sleep

local LUA = jit and "luajit" or ("lua" .. _VERSION:match("5%.%d"))
local SECRET = "S3CRET-second-run"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local scratch = {}
local function tmp(suffix)
  local base = os.tmpname()
  scratch[#scratch + 1] = base
  scratch[#scratch + 1] = base .. suffix
  return base .. suffix
end
local function write(path, content)
  local fh = assert(io.open(path, "wb"))
  fh:write(content)
  fh:close()
  return path
end
local function slurp(path)
  local fh = io.open(path, "rb")
  if not fh then return "" end
  local s = fh:read("*a")
  fh:close()
  return s
end

-- The command line (with a clean USERUPD_* environment) for argv.
local function command(argv)
  local words, env = {}, { "USERUPD_QUESTIONPRO_API_KEY=" ..
    q(argv.key or SECRET) }
  for i, a in ipairs(argv) do words[i] = q(a) end
  for k, v in pairs(argv.env or {}) do env[#env + 1] = k .. "=" .. q(v) end
  return ("for v in $(env | sed -n 's/^\\(USERUPD_[A-Za-z0-9_]*\\)=.*/\\1/p');" ..
          " do unset \"$v\"; done; exec env %s %s bin/userupd %s")
    :format(table.concat(env, " "), LUA, table.concat(words, " "))
end

local function run(argv)
  local err = tmp(".err")
  local p = assert(io.popen("(" .. command(argv) .. ") 2>" .. err ..
                            " </dev/null; echo \"::rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("::rc=(%d+)%s*$"))
  return { rc = rc, out = out:gsub("::rc=%d+%s*$", ""), err = slurp(err) }
end

local MAP = [[
return function(row)
  return tonumber(row.id), { firstName = row.first, lastName = row.last,
                             emailAddress = row.email }
end]]

local function roster(n, edit)
  local t = { "id,first,last,email" }
  for i = 1, n do
    local r = { 7000 + i, "First" .. i, "Last" .. i, ("u%d@school.example"):format(i) }
    if edit then edit(i, r) end
    t[#t + 1] = table.concat(r, ",")
  end
  return table.concat(t, "\n") .. "\n"
end

local function apply(csv, journal, extra)
  local argv = { "apply", "questionpro", "--input", csv, "--map",
                 write(tmp(".lua"), MAP), "--base-url", sandbox.url(),
                 "--rate", "0" }
  if not (extra and extra[1] == "--progress") then
    argv[#argv + 1] = "--no-progress"
  end
  if journal then argv[#argv + 1] = "--journal"; argv[#argv + 1] = journal end
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  for k, v in pairs(extra or {}) do if type(k) == "string" then argv[k] = v end end
  return run(argv)
end

local function total_puts()
  local n = 0
  for _, c in pairs(sandbox.puts("questionpro")) do n = n + c end
  return n
end

describe("userupd apply, the second run", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("sends only the changed rows and never blanks a field", function()
    local journal = tmp(".journal")
    local r = apply(write(tmp(".csv"), roster(30)), journal)
    assert.are.equal(0, r.rc, r.err)
    assert.matches("ok 30, failed 0, invalid 0, unchanged 0", r.out, 1, true)
    assert.are.equal(30, total_puts())
    -- row 5's email changes; row 9's email cell becomes blank
    local csv2 = write(tmp(".csv"), roster(30, function(i, row)
      if i == 5 then row[4] = "changed5@school.example" end
      if i == 9 then row[4] = "" end
    end))
    r = apply(csv2, journal)
    assert.are.equal(0, r.rc, r.err)
    assert.matches("ok 2, failed 0, invalid 0, unchanged 28", r.out, 1, true)
    local puts = sandbox.puts("questionpro")
    assert.are.equal(2, puts["7005"])
    assert.are.equal(2, puts["7009"])      -- sent, without the email
    assert.are.equal(1, puts["7001"])      -- untouched: not resent
    assert.are.equal(32, total_puts())
    assert.are.equal("changed5@school.example",
                     sandbox.user("questionpro", 7005).emailAddress)
    -- the blank cell left the vendor's value alone
    assert.are.equal("u9@school.example",
                     sandbox.user("questionpro", 7009).emailAddress)
    for i = 1, 30 do
      local u = sandbox.user("questionpro", 7000 + i)
      assert.are_not.equal("", u.emailAddress)
      assert.are_not.equal("", u.firstName)
    end
    -- a third run with the same file sends nothing
    r = apply(csv2, journal)
    assert.matches("ok 0, failed 0, invalid 0, unchanged 30", r.out, 1, true)
    assert.are.equal(32, total_puts())
  end)

  it("--changed-fields sends only the fields that changed", function()
    local journal = tmp(".journal")
    assert.are.equal(0, apply(write(tmp(".csv"), roster(3)), journal).rc)
    local r = apply(write(tmp(".csv"), roster(3, function(i, row)
      if i == 2 then row[4] = "new2@school.example" end
    end)), journal, { "--changed-fields" })
    assert.are.equal(0, r.rc, r.err)
    assert.matches("ok 1, failed 0, invalid 0, unchanged 2", r.out, 1, true)
    assert.are.equal('{"emailAddress":"new2@school.example"}',
                     sandbox.last("questionpro").body)
    r = apply(write(tmp(".csv"), roster(3)), nil, { "--changed-fields" })
    assert.are.equal(2, r.rc)
    assert.matches("--changed-fields needs --journal FILE", r.err, 1, true)
  end)

  it("clears a field from a blank cell only with --blank=clear", function()
    local csv = write(tmp(".csv"), roster(2, function(i, row)
      if i == 2 then row[4] = "" end
    end))
    local r = apply(csv, nil, { "--dry-run", "--show-requests" })
    assert.are.equal(0, r.rc, r.err)
    assert.not_matches('"emailAddress":""', r.out, 1, true)
    assert.not_matches('"emailAddress":null', r.out, 1, true)
    r = apply(csv, nil, { "--dry-run", "--show-requests", "--blank=clear" })
    assert.matches('"emailAddress":null', r.out, 1, true)
  end)

  it("reads a JSON-lines null as absent, and clears only when asked",
     function()
    local jsonl = write(tmp(".jsonl"),
      '{"id":"7001","first":"A","last":"B","email":null}\n' ..
      '{"id":"7002","first":"C","last":"D","email":"c@x.org"}\n')
    local r = apply(jsonl, nil, { "--dry-run", "--show-requests" })
    assert.are.equal(0, r.rc, r.err)
    assert.matches('"firstName":"A"', r.out, 1, true)
    assert.not_matches('"emailAddress":null', r.out, 1, true)
    assert.matches('"emailAddress":"c@x.org"', r.out, 1, true)
    r = apply(jsonl, nil, { "--dry-run", "--show-requests", "--blank=clear" })
    assert.matches('"emailAddress":null', r.out, 1, true)
  end)

  it("--progress into a file: plain lines, never a control code; the " ..
     "last progress line is the summary's", function()
    sandbox.fault{ fault = "500", count = 100, path = "/users/7002?" }
    local r = apply(write(tmp(".csv"), roster(3)), nil, { "--progress",
      env = { USERUPD_QUESTIONPRO_RETRIES = "0" } })
    assert.are.equal(1, r.rc)
    assert.is_nil(r.err:find("[\r\27]"), r.err)
    assert.matches("questionpro: line 3: id 7002: http: [^\n]*\n", r.err)
    local last = r.err:match("questionpro: progress: ([^\n]*)\n$")
    assert.truthy(last, r.err)
    assert.matches("3/3 100%", last, 1, true)
    assert.matches("ok 2  failed 1", last, 1, true)
    assert.matches("ok 2, failed 1, invalid 0", r.out, 1, true)
  end)

  it("stops after 5 auth failures, naming the variable, exit 75", function()
    local journal = tmp(".journal")
    local before = sandbox.stats().requests
    local r = apply(write(tmp(".csv"), roster(40)), journal,
                    { "--concurrency", "1", key = "bad-key" })
    assert.are.equal(75, r.rc)              -- stopped early, resumable
    assert.matches("stopped: 5 authentication failures in a row; check " ..
                   "USERUPD_QUESTIONPRO_API_KEY", r.err, 1, true)
    assert.are.equal(before + 5, sandbox.stats().requests)
    assert.matches("ok 0, failed 5,", r.out, 1, true)
    assert.not_matches("bad-key", r.out .. r.err, 1, true)
    -- the journal kept the five, with their input lines
    r = run({ "failures", "--journal", journal, "--format", "csv" })
    assert.matches("\r\n7001,2,failed,auth,401,", r.out, 1, true)
    -- fixed key: the same command sends all 40, none twice
    r = apply(write(tmp(".csv"), roster(40)), journal)
    assert.are.equal(0, r.rc, r.err)
    assert.are.equal(40, total_puts())
  end)

  it("reports duplicate ids with both lines and sends the first", function()
    local csv = write(tmp(".csv"), roster(4, function(i, row)
      if i == 3 then row[1] = 7001; row[2] = "Again" end
    end))
    local r = apply(csv, nil)
    assert.are.equal(1, r.rc)
    assert.matches("line 4: duplicate id 7001, first at line 2: this row " ..
                   "is refused (the first one is sent)", r.err, 1, true)
    assert.matches("ok 3, failed 0, invalid 0, unchanged 0, skipped 0, " ..
                   "duplicate 1", r.out, 1, true)
    assert.are.equal("First1", sandbox.user("questionpro", 7001).firstName)
  end)

  it("prints a dry-run summary, problems on stderr with their lines",
     function()
    local rows = roster(300, function(i, row)
      if i == 250 then row[1] = "not-a-number" end
      if i == 120 then row[1] = 7003 end
    end)
    local map = write(tmp(".lua"), [[return function(row)
      return tonumber(row.id) or row.id, { firstName = row.first,
        emailAddress = row["E-mail"] } end]])
    local r = run({ "apply", "questionpro", "--input", write(tmp(".csv"), rows),
                    "--map", map, "--dry-run" })
    assert.are.equal(1, r.rc)
    local lines = select(2, r.out:gsub("\n", ""))
    assert.is_true(lines <= 8, r.out)   -- a summary and its reasons, not requests
    assert.matches("dry run: 298 ready (298 new), 0 unchanged, 1 invalid, " ..
                   "1 duplicate, 0 skipped by the map; nothing was sent",
                   r.out, 1, true)
    assert.matches("invalid rows at lines: 251", r.out, 1, true)
    assert.matches("duplicate ids: 7003 (lines 4 and 121)", r.out, 1, true)
    assert.matches("columns the map read that the input does not have: " ..
                   "E-mail", r.out, 1, true)
    assert.matches("line 251: invalid: id: ", r.err, 1, true)
    assert.matches("line 121: duplicate id 7003, first at line 4", r.err, 1,
                   true)
    assert.are.equal(0, sandbox.stats().requests)
  end)

  it("on Ctrl-C finishes what is in flight, says how to resume, exits 130",
     function()
    local journal, err = tmp(".journal"), tmp(".err")
    local csv = write(tmp(".csv"), roster(60))
    local argv = { "apply", "questionpro", "--input", csv, "--map",
                   write(tmp(".lua"), MAP), "--base-url", sandbox.url(),
                   "--rate", "10", "--concurrency", "4", "--journal", journal,
                   "--no-progress" }
    local p = assert(io.popen("echo $$; " .. command(argv) .. " >/dev/null 2>" ..
                              err, "r"))
    local pid = assert(tonumber(p:read("*l")))
    sleep(1.5)
    os.execute("kill -INT " .. pid)
    local ok, how, code = p:close()
    if type(ok) == "number" then code = ok / 256 end  -- 5.1: the raw status
    if how == "exit" or code then assert.are.equal(130, code) end
    local msg = slurp(err)
    assert.matches("interrupted: (%d+) done and journaled; run the same " ..
                   "command again to resume", msg)
    local done = tonumber(msg:match("interrupted: (%d+) done"))
    assert.is_true(done >= 5 and done < 60, msg)
    assert.are.equal(done, total_puts())
    -- the resume sends the rest and nothing twice
    local r = apply(csv, journal)
    assert.are.equal(0, r.rc, r.err)
    assert.matches(("ok %d, failed 0, invalid 0, unchanged %d"):format(
                   60 - done, done), r.out, 1, true)
    for id, n in pairs(sandbox.puts("questionpro")) do
      assert.are.equal(1, n, "id " .. id .. " was sent " .. n .. " times")
    end
    assert.are.equal(60, total_puts())
  end)
end)

describe("userupd apply, Ctrl-C outside the sending loop", function()
  it("ends a long dry run with exit 130, not as a bad row", function()
    -- a slow map: Lua's own Ctrl-C error lands inside the map's pcall,
    -- which must pass it on rather than count the row invalid
    local err = tmp(".err")
    local csv = write(tmp(".csv"), roster(2000))
    -- (a clock wait, not a sum: LuaJIT compiles a plain loop into a trace
    -- where the interpreter's Ctrl-C hook never runs, and the whole file
    -- could finish first)
    local slow = write(tmp(".lua"), [[return function(row)
      local t = os.clock()
      repeat until os.clock() - t > 0.002
      return tonumber(row.id), { firstName = row.first } end]])
    local argv = { "apply", "questionpro", "--input", csv, "--map", slow,
                   "--dry-run" }
    local p = assert(io.popen("echo $$; " .. command(argv) .. " >/dev/null 2>" ..
                              err, "r"))
    local pid = assert(tonumber(p:read("*l")))
    sleep(1.0)
    os.execute("kill -INT " .. pid)
    local ok, how, code = p:close()
    if how == "exit" then assert.are.equal(130, code) end
    local msg = slurp(err)
    assert.matches("interrupted: nothing more was sent", msg, 1, true)
    assert.not_matches("invalid", msg, 1, true)
    if how == "exit" then assert.is_nil(ok) end     -- 5.1/LuaJIT: no status
  end)
end)

describe("userupd apply, messages for people", function()
  it("says no such file once, and knows a spreadsheet", function()
    local r = run({ "apply", "questionpro", "--input", "/nonexistent/students.cvs",
                    "--map", "m.lua" })
    assert.are.equal(2, r.rc)
    assert.are.equal("userupd: no such file: /nonexistent/students.cvs\n", r.err)
    local xlsx = write(tmp(".xlsx"), "PK\3\4")
    r = run({ "apply", "questionpro", "--input", xlsx, "--map", "m.lua" })
    assert.matches("is a spreadsheet, not a CSV file: save it as \"CSV UTF-8\"",
                   r.err, 1, true)
  end)

  it("never says bad argument; names the one variable", function()
    local csv = write(tmp(".csv"), roster(1))
    local r = run({ "apply", "thoughtindustries", "--input", csv, "--map",
                    write(tmp(".lua"), MAP), "--dry-run",
                    env = { USERUPD_THOUGHTINDUSTRIES_API_KEY = SECRET } })
    assert.are.equal(2, r.rc)
    assert.not_matches("bad argument", r.err, 1, true)
    assert.matches("USERUPD_THOUGHTINDUSTRIES_SUBDOMAIN", r.err, 1, true)
    assert.not_matches("USERUPD_THOUGHTINDUSTRIES_RETRIES", r.err, 1, true)
    assert.not_matches(SECRET, r.err, 1, true)
  end)

  it("accepts --rate 0 as no pacing", function()
    local r = run({ "apply", "questionpro", "--input",
                    write(tmp(".csv"), roster(1)), "--map",
                    write(tmp(".lua"), MAP), "--rate", "0", "--dry-run" })
    assert.are.equal(0, r.rc, r.err)
  end)

  it("hints at --sep and at Windows-1252", function()
    local semi = write(tmp(".csv"), "id;first;last;email\n7001;A;B;a@x.org\n")
    local r = run({ "apply", "questionpro", "--input", semi, "--map",
                    write(tmp(".lua"), MAP), "--dry-run" })
    assert.matches("the header has one column", r.err, 1, true)
    assert.matches("try --sep ';'", r.err, 1, true)
    local latin = write(tmp(".csv"), "id,first,last,email\n7001,Zo\235,B,a@x.org\n")
    r = run({ "apply", "questionpro", "--input", latin, "--map",
              write(tmp(".lua"), MAP), "--dry-run" })
    assert.are.equal(3, r.rc)               -- rows read, none to send
    assert.matches('line 2: invalid: column "first" is not valid UTF-8', r.err,
                   1, true)
    assert.matches("looks like Windows-1252", r.err, 1, true)
    r = run({ "apply", "questionpro", "--input", semi, "--map",
              write(tmp(".lua"), MAP), "--dry-run", "--sep", ";" })
    assert.are.equal(0, r.rc, r.err)
  end)
end)

teardown(function()
  for _, path in ipairs(scratch) do os.remove(path) end
end)
