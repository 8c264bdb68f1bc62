-- The dry run as the plan of the real run (issue 23): with a journal it
-- counts what the real run would send, writes nothing, and the real run
-- then sends exactly that; --show-requests prints only those rows; --diff
-- shows them field by field; --summary-json records the counts.
local sandbox = require "support.sandbox"
local cli = require "support.clirun"
local json = require "cjson"

local KEY = "S3CRET-plan-key"

local MAP = [[
return function(row)
  return tonumber(row.id), { firstName = row.first, lastName = row.last,
                             emailAddress = row.email, password = row.pw }
end]]

local function roster(n, edit)
  local t = { "id,first,last,email,pw" }
  for i = 1, n do
    local r = { 100000 + i, "First" .. i, "Last" .. i,
                ("u%d@x.example"):format(i), "" }
    if edit then edit(i, r) end
    t[#t + 1] = table.concat(r, ",")
  end
  return table.concat(t, "\n") .. "\n"
end

local function apply(csv, journal, ...)
  local argv = { "apply", "questionpro", "--input", csv, "--map",
                 cli.write(cli.tmp(".lua"), MAP), "--base-url", sandbox.url(),
                 "--rate", "0", "--no-progress", "--journal", journal,
                 env = { USERUPD_QUESTIONPRO_API_KEY = KEY } }
  for _, a in ipairs({ ... }) do argv[#argv + 1] = a end
  return cli.run(argv)
end

local function total_puts()
  local n = 0
  for _, c in pairs(sandbox.puts("questionpro")) do n = n + c end
  return n
end

local function summary_of(path)
  return json.decode((assert(cli.slurp(path), "no --summary-json file")))
end

describe("userupd apply --dry-run with a journal", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("plans exactly what the real run then sends, and writes nothing",
  function()
    local journal = cli.tmp(".journal")
    local r = apply(cli.write(cli.tmp(".csv"), roster(12)), journal)
    assert.are.equal(0, r.rc, r.err)
    assert.are.equal(12, total_puts())
    local csv2 = cli.write(cli.tmp(".csv"), roster(12, function(i, row)
      if i == 2 or i == 7 then row[4] = ("new%d@x.example"):format(i) end
      if i == 11 then row[2] = "Renamed" end
    end))
    local before = assert(cli.slurp(journal))
    local sj = cli.tmp(".json")
    r = apply(csv2, journal, "--dry-run", "--summary-json", sj)
    assert.are.equal(0, r.rc, r.err)
    assert.matches("dry run: 3 ready (3 changed), 9 unchanged", r.out, 1,
                   true)
    local s = summary_of(sj)
    assert.are.equal("userupd.summary/1", s.schema)
    assert.is_true(s.dry_run)
    assert.are.equal(3, s.counts.ready)
    assert.are.equal(9, s.counts.unchanged)
    assert.are.equal(0, s.counts.ok)
    assert.are.equal(12, total_puts())          -- nothing was sent
    assert.are.equal(before, cli.slurp(journal)) -- byte for byte
    assert.is_false(cli.exists(journal .. "-wal"))
    assert.is_false(cli.exists(journal .. "-shm"))
    r = apply(csv2, journal, "--summary-json", sj)
    assert.are.equal(0, r.rc, r.err)
    assert.are.equal(15, total_puts())          -- exactly the 3 planned
    local puts = sandbox.puts("questionpro")
    assert.are.equal(2, puts["100002"])
    assert.are.equal(2, puts["100007"])
    assert.are.equal(2, puts["100011"])
    s = summary_of(sj)
    assert.is_false(s.dry_run)
    assert.are.equal(3, s.counts.ok)
    assert.are.equal(9, s.counts.unchanged)
    assert.is_nil(s.counts.ready)
  end)

  it("counts rows that failed before as ready, and a new journal as all new",
  function()
    local journal = cli.tmp(".journal")
    local csv = cli.write(cli.tmp(".csv"), roster(4))
    local r = apply(csv, journal, "--dry-run")
    assert.matches("dry run: 4 ready (4 new), 0 unchanged", r.out, 1, true)
    assert.is_false(cli.exists(journal))        -- not even created
    sandbox.fault({ fault = "500", path = "/100003", count = 10 })
    r = apply(csv, journal)
    assert.are.equal(1, r.rc, r.err)
    sandbox.clear_faults()
    r = apply(csv, journal, "--dry-run")
    assert.matches("dry run: 1 ready (1 failed before), 3 unchanged", r.out,
                   1, true)
  end)

  it("--show-requests prints only the rows the real run would send", function()
    local journal = cli.tmp(".journal")
    assert.are.equal(0, apply(cli.write(cli.tmp(".csv"), roster(5)),
                              journal).rc)
    local csv2 = cli.write(cli.tmp(".csv"), roster(5, function(i, row)
      if i == 4 then row[4] = "four@x.example" end
    end))
    local r = apply(csv2, journal, "--dry-run", "--show-requests")
    assert.are.equal(0, r.rc, r.err)
    local _, n = r.out:gsub("\nPUT ", "")
    local _, m = r.out:gsub("^PUT ", "")
    assert.are.equal(1, n + m, r.out)
    assert.matches("# line 5, id 100004 (changed)", r.out, 1, true)
    assert.matches("/users/100004", r.out, 1, true)
    assert.not_matches(KEY, r.out, 1, true)
  end)

  it("--diff shows each changed field against the last payload, secrets " ..
     "redacted, the first 20 rows unless --diff-all", function()
    local journal = cli.tmp(".journal")
    assert.are.equal(0, apply(cli.write(cli.tmp(".csv"), roster(25)),
                              journal).rc)
    local csv2 = cli.write(cli.tmp(".csv"), roster(25, function(i, row)
      row[4] = ("moved%d@x.example"):format(i)
      if i == 1 then row[5] = "hunter2-secret" end
    end))
    local r = apply(csv2, journal, "--dry-run", "--diff")
    assert.are.equal(0, r.rc, r.err)
    assert.matches('100002 emailAddress: "u2@x.example" -> ' ..
                   '"moved2@x.example"\n', r.out, 1, true)
    assert.matches("100001 password: (absent) -> [redacted]", r.out, 1, true)
    assert.not_matches("hunter2", r.out, 1, true)
    assert.not_matches("100021 emailAddress", r.out, 1, true)
    assert.matches("... and 5 more rows that would be sent (--diff-all " ..
                   "shows every row)", r.out, 1, true)
    assert.not_matches("firstName", r.out, 1, true) -- unchanged fields
    r = apply(csv2, journal, "--dry-run", "--diff-all")
    assert.matches("100025 emailAddress", r.out, 1, true)
    r = apply(csv2, journal, "--diff")
    assert.are.equal(2, r.rc)
    assert.matches("--diff goes with --dry-run", r.err, 1, true)
  end)
end)
