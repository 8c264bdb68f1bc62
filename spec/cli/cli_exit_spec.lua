-- Exit statuses a scheduler can act on (issue 23, docs/cli.md "Exit
-- status"), one test each, and the daily quota in the plan and in a
-- stopped run's counts (`left N for the next run`).
local sandbox = require "support.sandbox"
local cli = require "support.clirun"
local json = require "cjson"
local sleep = require("system").sleep

local KEY = "S3CRET-exit-key"
local MAP = [[
return function(row)
  if row.skip == "yes" then return nil end
  return tonumber(row.id), { firstName = row.first }
end]]

local function roster(n, edit)
  local t = { "id,first,skip" }
  for i = 1, n do
    local r = { 8000 + i, "First" .. i, "no" }
    if edit then edit(i, r) end
    t[#t + 1] = table.concat(r, ",")
  end
  return table.concat(t, "\n") .. "\n"
end

local function argv_for(csv, opts)
  opts = opts or {}
  local argv = { "apply", "questionpro", "--input", csv, "--map",
                 cli.write(cli.tmp(".lua"), MAP), "--base-url", sandbox.url(),
                 "--rate", "0", "--no-progress", "--concurrency", "1",
                 env = { USERUPD_QUESTIONPRO_API_KEY = opts.key or KEY,
                         USERUPD_QUESTIONPRO_DAILY_QUOTA = opts.quota } }
  for _, a in ipairs(opts) do argv[#argv + 1] = a end
  return argv
end

local function apply(csv, opts) return cli.run(argv_for(csv, opts)) end

describe("exit status", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("0: every row sent is ok, or everything is unchanged", function()
    local csv, journal = cli.write(cli.tmp(".csv"), roster(3)),
                         cli.tmp(".journal")
    assert.are.equal(0, apply(csv, { "--journal", journal }).rc)
    local r = apply(csv, { "--journal", journal })
    assert.are.equal(0, r.rc, r.err)
    assert.matches("ok 0, failed 0, invalid 0, unchanged 3", r.out, 1, true)
  end)

  it("1: some rows failed or were invalid", function()
    sandbox.fault({ fault = "500", path = "/8002", count = 5 })
    local r = apply(cli.write(cli.tmp(".csv"), roster(3)))
    assert.are.equal(1, r.rc, r.err)
    assert.matches("ok 2, failed 1", r.out, 1, true)
    r = apply(cli.write(cli.tmp(".csv"), roster(3, function(i, row)
      if i == 2 then row[1] = "0" end
    end)))
    assert.are.equal(1, r.rc, r.err)
  end)

  it("2: a usage error, one line, before any row is read", function()
    local r = cli.run{ "apply", "questionpro", "--map",
                       cli.write(cli.tmp(".lua"), MAP),
                       env = { USERUPD_QUESTIONPRO_API_KEY = KEY } }
    assert.are.equal(2, r.rc)
    assert.matches("^userupd: missing %-%-input FILE[^\n]*\n$", r.err)
    assert.are.equal(0, sandbox.stats().requests)
  end)

  it("3: rows were read but nothing was sent", function()
    local all_skipped = cli.write(cli.tmp(".csv"), roster(4, function(_, row)
      row[3] = "yes"
    end))
    local r = apply(all_skipped)
    assert.are.equal(3, r.rc, r.err)
    assert.matches("ok 0, failed 0, invalid 0, unchanged 0, skipped 4", r.out,
                   1, true)
    local all_invalid = cli.write(cli.tmp(".csv"), roster(2, function(_, row)
      row[1] = "N/A"
    end))
    assert.are.equal(3, apply(all_invalid).rc)
    assert.are.equal(3, apply(all_invalid, { "--dry-run" }).rc)
    assert.are.equal(0, sandbox.stats().requests)
  end)

  it("75: stopped early and resumable (authentication)", function()
    local r = apply(cli.write(cli.tmp(".csv"), roster(9)), { key = "bad-k" })
    assert.are.equal(75, r.rc, r.err)
    assert.matches("stopped: 5 authentication failures in a row", r.err, 1,
                   true)
    assert.matches("left 4 for the next run", r.out, 1, true)
  end)

  it("75 at the daily quota: the plan says what today's quota covers and " ..
     "the stopped run counts the rows it left", function()
    local csv, journal = cli.write(cli.tmp(".csv"), roster(5)),
                         cli.tmp(".journal")
    local sj = cli.tmp(".json")
    local r = apply(csv, { quota = "3", "--journal", journal, "--dry-run" })
    assert.are.equal(0, r.rc, r.err)
    assert.matches("daily quota: 3 calls left today: the real run sends 3 " ..
                   "of the 5 ready rows, 2 wait for the next run", r.out, 1,
                   true)
    r = apply(csv, { quota = "3", "--journal", journal, "--summary-json", sj })
    assert.are.equal(75, r.rc, r.err)
    assert.matches("ok 3, failed 0", r.out, 1, true)
    assert.matches("left 2 for the next run (the daily quota is spent",
                   r.out, 1, true)
    local s = json.decode((assert(cli.slurp(sj))))
    assert.are.equal(2, s.counts.left)
    assert.are.equal(3, s.counts.ok)
    assert.are.equal("daily_quota", s.stopped)
    r = apply(csv, { quota = "3", "--journal", journal, "--dry-run" })
    assert.matches("dry run: 2 ready (2 new), 3 unchanged", r.out, 1, true)
    assert.matches("daily quota: 0 calls left today: the real run sends 0 " ..
                   "of the 2 ready rows, 2 wait for the next run", r.out, 1,
                   true)
    r = apply(csv, { quota = "10", "--journal", journal, "--dry-run" })
    assert.matches("daily quota: 7 calls left today, enough for the 2 " ..
                   "ready rows", r.out, 1, true)
  end)

  it("130: interrupted by Ctrl-C, after the summary", function()
    sandbox.config({ delay_ms = 200 })
    local err = cli.tmp(".err")
    local argv = argv_for(cli.write(cli.tmp(".csv"), roster(40)),
                          { "--journal", cli.tmp(".journal") })
    local p = assert(io.popen("echo $$; " .. cli.command(argv) ..
                              " 2>" .. err, "r"))
    local pid = assert(tonumber(p:read("*l")))
    sleep(1.5)
    os.execute("kill -INT " .. pid)
    local out = p:read("*a")
    local ok, how, code = p:close()
    sandbox.config({ delay_ms = 0 })
    if type(ok) == "number" then code = ok / 256 end  -- 5.1: the raw status
    if how == "exit" or code then assert.are.equal(130, code) end
    assert.matches("questionpro: ok %d+, failed 0", out)
  end)
end)
