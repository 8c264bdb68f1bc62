-- `userupd failures` lists every row a run refused (issue 23 #2, #14):
-- map errors, short rows and bad ids too, with line, reason, cells
-- (secret cells redacted), time and run; the rows export as a CSV that is
-- fixed and fed back; a row that succeeds or is seen unchanged leaves the
-- list; --prune drops rows absent from the last run's input.
local sandbox = require "support.sandbox"
local cli = require "support.clirun"
local json = require "cjson"

local KEY = "S3CRET-failures-key"
local MAP = [[
return function(row)
  if row.dept == "raise" then error("no such department: " .. row.dept) end
  return tonumber(row.id) or row.id, { firstName = row.first,
    emailAddress = row.email, password = row.pw }
end]]

local function apply(csv, journal, map)
  return cli.run{ "apply", "questionpro", "--input", csv, "--map",
    cli.write(cli.tmp(".lua"), map or MAP), "--base-url", sandbox.url(),
    "--rate", "0", "--no-progress", "--journal", journal,
    "--max-invalid", "100%",
    env = { USERUPD_QUESTIONPRO_API_KEY = KEY } }
end

local function failures(journal, ...)
  local r = cli.run{ "failures", "--journal", journal, ... }
  assert.are.equal(0, r.rc, r.err)
  local list = {}
  if select("#", ...) == 0 then
    for line in r.out:gmatch("[^\n]+") do list[#list + 1] = json.decode(line) end
  end
  return list, r
end

local function by_line(list)
  local t = {}
  for _, f in ipairs(list) do t[f.line] = f end
  return t
end

describe("userupd failures", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("lists every row of a map that raised on every row", function()
    local journal = cli.tmp(".journal")
    local csv = { "id,first,email,pw,dept" }
    for i = 1, 6 do
      csv[#csv + 1] = ("%d,F%d,e%d@x.example,pw-%d,raise"):format(7000 + i, i,
                                                                  i, i)
    end
    local r = apply(cli.write(cli.tmp(".csv"), table.concat(csv, "\n") ..
                              "\n"), journal)
    assert.matches("invalid 6", r.out, 1, true)
    local list = failures(journal)
    assert.are.equal(6, #list)
    local f = by_line(list)[2]
    assert.are.equal("refused", f.state)
    assert.are.equal("invalid", f.kind)
    assert.matches("no such department: raise", f.message, 1, true)
    assert.are.equal("7001", f.cells.id)
    assert.are.equal("e1@x.example", f.cells.email)
    assert.are.equal("[redacted]", f.cells.pw)          -- a secret column
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", f.time)
    assert.are.equal(1, f.run)
  end)

  it("learns secret columns from the mapped rows and keeps their cells " ..
     "out of the journal, the reasons and --summary-json", function()
    local journal, sj = cli.tmp(".journal"), cli.tmp(".json")
    local map = [[
return function(row)
  if #row.initial < 8 then error("too weak: " .. row.initial) end
  return tonumber(row.id), { firstName = row.first, password = row.initial }
end]]
    local r = apply(cli.write(cli.tmp(".csv"), table.concat({
      "id,first,initial", "7001,Ann,tiny-pw", "7002,Bob,long-enough-pw-2",
      "7003,Cy,long-enough-pw-3" }, "\n") .. "\n"), journal, map)
    assert.matches("invalid 1", r.out, 1, true)
    local _, out = failures(journal, "--format", "jsonl")
    assert.not_matches("tiny-pw", out.out, 1, true)
    local f = json.decode((out.out:match("[^\n]+")))
    assert.are.equal("[redacted]", f.cells.initial)
    assert.are.equal("Ann", f.cells.first)
    assert.matches("too weak: [redacted]", f.message, 1, true)
    cli.run{ "apply", "questionpro", "--input",
      cli.write(cli.tmp(".csv"), "id,first,initial\n7001,Ann,tiny-pw\n" ..
                "7002,Bob,long-enough-pw-2\n"), "--map",
      cli.write(cli.tmp(".lua"), map), "--dry-run", "--summary-json", sj,
      "--max-invalid", "100%",
      env = { USERUPD_QUESTIONPRO_API_KEY = KEY } }
    local text = assert(cli.slurp(sj))
    assert.not_matches("tiny-pw", text, 1, true)
    assert.matches("too weak: [redacted]", text, 1, true)
  end)

  it("lists short rows, bad ids and duplicates with their lines; the " ..
     "export is fixed and fed back, and fixed rows leave the list",
  function()
    local journal = cli.tmp(".journal")
    local csv = cli.write(cli.tmp(".csv"), table.concat({
      "id,first,email,pw,dept",
      "7001,Ann,a@x.example,,",
      "N/A,Bob,b@x.example,hunter2-pw,",
      "7003,Cy",
      "7001,Dup,d@x.example,,",
      "7005,Eve,e@x.example,,",
    }, "\n") .. "\n")
    local r = apply(csv, journal)
    assert.are.equal(1, r.rc, r.err)
    local f = by_line(failures(journal))
    assert.are.equal("N/A", f[3].id)
    assert.matches('got "N/A"', f[3].message, 1, true)
    assert.are.equal("[redacted]", f[3].cells.pw)
    assert.are.equal("expected 5 fields, got 2", f[4].message)
    assert.are.equal("7003", f[4].cells.id)
    assert.are.equal("duplicate", f[5].kind)
    assert.is_nil(f[2])
    assert.is_nil(f[6])
    local _, out = failures(journal, "--format", "input")
    assert.are.equal(table.concat({ "id,first,email,pw,dept",
      "N/A,Bob,b@x.example,[redacted],", "7003,Cy,,,",
      "7001,Dup,d@x.example,,", "" }, "\r\n"), out.out)
    assert.not_matches("hunter2", out.out, 1, true)
    -- the operator fixes the export and feeds it back
    local fixed = out.out:gsub("N/A,Bob,b@x.example,%[redacted%],",
                               "7002,Bob,b@x.example,new-pw,")
                         :gsub("7003,Cy,,,", "7003,Cy,c@x.example,,")
                         :gsub("7001,Dup,d@x.example,,\r\n", "")
    r = apply(cli.write(cli.tmp(".csv"), fixed), journal)
    assert.are.equal(0, r.rc, r.err)
    assert.matches("ok 2, failed 0, invalid 0", r.out, 1, true)
    assert.are.same({}, failures(journal))
  end)

  it("keeps the cells of a row the vendor refused after thousands of " ..
     "unchanged rows were read while it waited", function()
    -- the CLI holds a row while the library holds its record, however
    -- many rows pass meanwhile (it kept the last 4,096 rows read before
    -- issue 22, and lost this one's cells)
    local journal, rows = cli.tmp(".journal"), { "id,first,email,pw,dept" }
    for i = 1, 5000 do
      rows[#rows + 1] = ("%d,F%d,e%d@x.example,,"):format(20000 + i, i, i)
    end
    local r = apply(cli.write(cli.tmp(".csv"), table.concat(rows, "\n") ..
                              "\n"), journal)
    assert.are.equal(0, r.rc, r.err)
    rows[2] = "20001,Changed,changed@x.example,,"
    sandbox.fault{ fault = "503:retry_after=1", count = 10,
                   path = "20001" }
    r = cli.run{ "apply", "questionpro", "--input", cli.write(cli.tmp(".csv"),
      table.concat(rows, "\n") .. "\n"), "--map",
      cli.write(cli.tmp(".lua"), MAP), "--base-url", sandbox.url(),
      "--rate", "0", "--no-progress", "--journal", journal,
      env = { USERUPD_QUESTIONPRO_API_KEY = KEY,
              USERUPD_QUESTIONPRO_RETRIES = "1" } }
    assert.are.equal(1, r.rc, r.err)
    assert.matches("failed 1, invalid 0, unchanged 4999", r.out, 1, true)
    local f = by_line(failures(journal))[2]
    assert.are.equal("http", f.kind)                 -- a 503 to the end
    assert.are.equal("20001", f.cells.id)
    assert.are.equal("changed@x.example", f.cells.email)
  end)

  it("keeps the run and time; a row leaves when it succeeds; --prune " ..
     "drops rows the last run's input lacks", function()
    local journal = cli.tmp(".journal")
    local function roster(emails)
      local t = { "id,first,email,pw,dept" }
      for id, email in pairs(emails) do
        t[#t + 1] = ("%d,F,%s,,"):format(id, email)
      end
      table.sort(t, function(a, b) return a:sub(1, 2) == "id" or
                                          (b:sub(1, 2) ~= "id" and a < b) end)
      return cli.write(cli.tmp(".csv"), table.concat(t, "\n") .. "\n")
    end
    assert.are.equal(0, apply(roster{ [7001] = "a@x", [7002] = "b@x",
                                      [7003] = "c@x" }, journal).rc)
    sandbox.fault({ fault = "500", path = "/7001", count = 10 })
    sandbox.fault({ fault = "500", path = "/7002", count = 10 })
    sandbox.fault({ fault = "500", path = "/7003", count = 10 })
    local r = apply(roster{ [7001] = "a2@x", [7002] = "b2@x",
                            [7003] = "c2@x" }, journal)
    assert.matches("failed 3", r.out, 1, true)
    local list = failures(journal)
    assert.are.equal(3, #list)
    assert.are.equal(2, list[1].run)
    assert.are.equal("failed", list[1].state)
    sandbox.clear_faults()
    -- run 3: 7001 changes again and succeeds; 7002 is back to what last
    -- succeeded, but its failure may have reached the vendor, so it is
    -- sent again (and succeeds); 7003 is gone from the input
    r = apply(roster{ [7001] = "a3@x", [7002] = "b@x" }, journal)
    assert.are.equal(0, r.rc, r.err)
    assert.matches("ok 2, failed 0, invalid 0, unchanged 0", r.out, 1, true)
    list = failures(journal)
    assert.are.equal(1, #list)
    assert.are.equal("7003", list[1].id)
    assert.are.equal(2, list[1].run)                  -- it failed in run 2
    local _, p = failures(journal, "--prune")
    assert.matches("pruned 1 row absent from the input of run 3", p.err, 1,
                   true)
    assert.are.same({}, failures(journal))
  end)
end)
