-- The live preview (issue 23): `userupd diff VENDOR ... --sample N` and
-- `apply --dry-run --against-vendor N` read the vendor's current record
-- for a sample of the rows the plan would send and print what the run
-- would change there.  Each read is a real call: it says beforehand how
-- many, and the client's rate, shared budget and daily quota count them.
local sandbox = require "support.sandbox"
local cli = require "support.clirun"

local KEY = "S3CRET-preview-key"
local MAP = [[
return function(row)
  return tonumber(row.id), { firstName = row.first, emailAddress = row.email,
                             password = row.pw }
end]]

local function csv(n, edit)
  local t = { "id,first,email,pw" }
  for i = 1, n do
    local r = { 7000 + i, "First" .. i, ("p%d@x.example"):format(i), "" }
    if edit then edit(i, r) end
    t[#t + 1] = table.concat(r, ",")
  end
  return cli.write(cli.tmp(".csv"), table.concat(t, "\n") .. "\n")
end

local function preview(input, extra, env)
  local argv = { "diff", "questionpro", "--input", input, "--map",
                 cli.write(cli.tmp(".lua"), MAP), "--base-url", sandbox.url(),
                 "--rate", "0",
                 env = env or { USERUPD_QUESTIONPRO_API_KEY = KEY } }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  return cli.run(argv)
end

describe("the live preview", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("shows, per field, the vendor's value and what the run would send",
  function()
    local before = sandbox.decode(sandbox.http("GET",
      "/a/api/v2/users/7002?apiKey=k")).response
    local r = preview(csv(4, function(i, row)
      if i == 2 then row[4] = "hunter2-secret" end
    end), { "--sample", "2" })
    assert.are.equal(0, r.rc, r.err)
    assert.matches("preview: 2 reads at QuestionPro (one GET each", r.out, 1,
                   true)
    -- the announcement comes before the first result
    assert.truthy(r.out:find("preview: 2 reads", 1, true) <
                  r.out:find("7001 firstName", 1, true))
    assert.matches(('7002 emailAddress: "%s" -> "p2@x.example"'):format(
                   before.emailAddress), r.out, 1, true)
    assert.matches(('7002 firstName: "%s" -> "First2"'):format(
                   before.firstName), r.out, 1, true)
    -- QuestionPro's record has no password: marked, and never shown
    assert.matches("7002 password: (not returned by the vendor) -> " ..
                   "[redacted]", r.out, 1, true)
    assert.not_matches("hunter2", r.out .. r.err, 1, true)
    assert.not_matches("7003", r.out, 1, true)       -- outside the sample
    assert.matches("preview: 2 reads, 0 failed", r.out, 1, true)
    assert.are.equal(0, sandbox.stats().puts or 0)   -- nothing written
  end)

  it("catches an edit made at the vendor since the last run", function()
    local journal = cli.tmp(".journal")
    local input = csv(3)
    local r = cli.run{ "apply", "questionpro", "--input", input, "--map",
      cli.write(cli.tmp(".lua"), MAP), "--base-url", sandbox.url(),
      "--rate", "0", "--no-progress", "--journal", journal,
      env = { USERUPD_QUESTIONPRO_API_KEY = KEY } }
    assert.are.equal(0, r.rc, r.err)
    -- someone edits 7002 in the vendor's own UI; our file changes 7002 too
    sandbox.http("PUT", "/a/api/v2/users/7002?apiKey=k",
                 { json = { firstName = "EditedInUI" } })
    r = preview(csv(3, function(i, row)
      if i == 2 then row[3] = "new2@x.example" end
    end), { "--journal", journal, "--sample", "5" })
    assert.are.equal(0, r.rc, r.err)
    assert.matches("dry run: 1 ready (1 changed), 2 unchanged", r.out, 1, true)
    assert.matches("preview: 1 read at QuestionPro", r.out, 1, true)
    assert.matches('7002 firstName: "EditedInUI" -> "First2"', r.out, 1, true)
    assert.matches('7002 emailAddress: "p2@x.example" -> "new2@x.example"',
                   r.out, 1, true)
  end)

  it("counts its reads against the daily quota and says so first", function()
    local r = preview(csv(5), { "--sample", "3" },
      { USERUPD_QUESTIONPRO_API_KEY = KEY,
        USERUPD_QUESTIONPRO_DAILY_QUOTA = "2" })
    assert.matches("preview: 3 reads at QuestionPro (one GET each, paced " ..
                   "at 0/s; the daily quota has 2 left today: 1 would be " ..
                   "refused)", r.out, 1, true)
    assert.matches("7003: cannot read it: daily quota reached", r.out, 1,
                   true)
    assert.matches("preview: 3 reads, 1 failed", r.out, 1, true)
    assert.are.equal(2, sandbox.stats().requests)    -- the quota held
    -- a shared budget file counts the reads across processes
    local budget = cli.tmp(".budget")
    local env = { USERUPD_QUESTIONPRO_API_KEY = KEY,
                  USERUPD_QUESTIONPRO_DAILY_QUOTA = "3",
                  USERUPD_QUESTIONPRO_SHARED_BUDGET = budget }
    local before = sandbox.stats().requests
    r = preview(csv(5), { "--sample", "2" }, env)
    assert.matches("preview: 2 reads, 0 failed", r.out, 1, true)
    r = preview(csv(5), { "--sample", "2" }, env)
    assert.matches("the daily quota has 1 left today: 1 would be refused",
                   r.out, 1, true)            -- read from the budget file
    assert.matches("preview: 2 reads, 1 failed", r.out, 1, true)
    assert.are.equal(before + 3, sandbox.stats().requests)
    -- apply --dry-run --against-vendor is the same preview
    r = cli.run{ "apply", "questionpro", "--input", csv(2), "--map",
      cli.write(cli.tmp(".lua"), MAP), "--base-url", sandbox.url(),
      "--dry-run", "--against-vendor", "1",
      env = { USERUPD_QUESTIONPRO_API_KEY = KEY } }
    assert.are.equal(0, r.rc, r.err)
    assert.matches("preview: 1 read at QuestionPro (one GET each, paced " ..
                   "at 5/s)", r.out, 1, true)
    assert.are.equal(before + 4, sandbox.stats().requests)
    r = cli.run{ "apply", "questionpro", "--input", csv(2), "--map",
      cli.write(cli.tmp(".lua"), MAP), "--against-vendor", "1",
      env = { USERUPD_QUESTIONPRO_API_KEY = KEY } }
    assert.are.equal(2, r.rc)
    assert.matches("--against-vendor goes with --dry-run", r.err, 1, true)
  end)
end)
