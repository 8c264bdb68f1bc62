-- update_many { dry_run = true }: the plan goes through the real run's own
-- decision (journal lookup, payload comparison) and hands each record it
-- would send to on_plan; nothing is sent and the journal is not written,
-- not even created (issue 23).
local sandbox = require "support.sandbox"
local userupd = require "userupd"

local function slurp(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local s = fh:read("*a")
  fh:close()
  return s
end

local function client(opts)
  opts = opts or {}
  opts.api_key, opts.base_url, opts.rate = "k", sandbox.url(), 0
  return userupd.new("questionpro", opts)
end

local function records(emails)
  local t = {}
  for i, e in ipairs(emails) do
    t[i] = { 7000 + i, { emailAddress = e, firstName = "F" .. i } }
  end
  return t
end

local function plan(c, recs, journal)
  local seen = {}
  local s = c:update_many(recs, { dry_run = true, journal = journal,
    progress = false, on_plan = function(id, why, fields, _, last)
      seen[#seen + 1] = { id = id, why = why, fields = fields, last = last }
    end })
  return s, seen
end

describe("update_many dry_run", function()
  local journal
  setup(function() sandbox.start() end)
  before_each(function()
    sandbox.reset()
    journal = os.tmpname()
    os.remove(journal)
  end)
  after_each(function()
    for _, suffix in ipairs({ "", "-wal", "-shm", ".lock" }) do
      os.remove(journal .. suffix)
    end
  end)

  it("plans new, changed, failed before and unchanged as the real run " ..
     "then sends them, and writes nothing", function()
    local c = client()
    local s, seen = plan(c, records({ "a@x", "b@x", "c@x" }), journal)
    assert.are.equal(3, s.ready)
    assert.are.equal("new", seen[1].why)
    assert.is_nil(io.open(journal, "rb"))            -- not even created
    assert.are.equal(0, sandbox.stats().requests)
    assert.are.equal(3, c:update_many(records({ "a@x", "b@x", "c@x" }),
      { journal = journal, progress = false }).ok)
    sandbox.fault({ fault = "500", path = "/7003", count = 5 })
    c:update_many(records({ "a@x", "b2@x", "c2@x" }),
                  { journal = journal, progress = false })
    sandbox.clear_faults()
    local before = assert(slurp(journal))
    local requests = sandbox.stats().requests
    s, seen = plan(c, records({ "a@x", "b3@x", "c2@x" }), journal)
    assert.are.equal(2, s.ready)
    assert.are.equal(1, s.unchanged)
    assert.are.equal(7002, seen[1].id)
    assert.are.equal("changed", seen[1].why)
    assert.are.equal('{"firstName":"F2","emailAddress":"b3@x"}',
                     seen[1].fields)
    assert.are.equal('{"firstName":"F2","emailAddress":"b2@x"}',
                     seen[1].last)                 -- the last success
    assert.are.equal("failed", seen[2].why)
    assert.are.equal(requests, sandbox.stats().requests)
    assert.are.equal(before, slurp(journal))       -- byte for byte
    assert.is_nil(io.open(journal .. "-wal", "rb"))
    assert.is_nil(io.open(journal .. "-shm", "rb"))
    -- the real run sends exactly what was planned
    s = c:update_many(records({ "a@x", "b3@x", "c2@x" }),
                      { journal = journal, progress = false })
    assert.are.equal(2, s.ok)
    assert.are.equal(1, s.unchanged)
  end)

  it("sends a failed record again even when it is back to its last " ..
     "success; heals an invalid one seen unchanged", function()
    local c = client()
    local function real(emails, dept)
      local recs = records(emails)
      if dept then recs[1][2].departmentID = dept end
      return c:update_many(recs, { journal = journal, progress = false })
    end
    assert.are.equal(1, real({ "a@x" }).ok)
    sandbox.fault({ fault = "500", path = "/7001", count = 5 })
    assert.are.equal(1, real({ "a2@x" }).failed)
    sandbox.clear_faults()
    local s, seen = plan(c, records({ "a@x" }), journal)
    assert.are.equal(1, s.ready)                   -- the failure may have
    assert.are.equal("failed", seen[1].why)        -- reached the vendor
    assert.are.equal(1, real({ "a@x" }).ok)
    assert.are.equal(1, real({ "a@x" }, "not a number").invalid)
    local j = assert(userupd.journal(journal))
    assert.are.equal(1, #j:failures())
    j:close()
    s = real({ "a@x" })                            -- what last succeeded
    assert.are.equal(1, s.unchanged)
    j = assert(userupd.journal(journal))
    assert.are.same({}, j:failures())              -- healed: off the list
    assert.are.equal("ok", j:get("7001").state)
    j:close()
  end)

  it("refuses another vendor's journal and reports the quota left",
  function()
    local ti = userupd.new("thoughtindustries", { api_key = "k",
      subdomain = "x", base_url = sandbox.url(), rate = 0 })
    local j = assert(userupd.journal(journal, "thoughtindustries"))
    j:close()
    local ok, e = pcall(plan, client(), records({ "a@x" }), journal)
    assert.is_false(ok)
    assert.matches("belongs to vendor thoughtindustries", tostring(e), 1,
                   true)
    ti:close()
    os.remove(journal)
    local c = client({ daily_quota = 5 })
    assert.are.equal(2, c:update_many(records({ "a@x", "b@x" }),
      { journal = journal, progress = false }).ok)
    local s = plan(client({ daily_quota = 5 }), records({ "a@x", "b@x",
                                                          "c@x" }), journal)
    assert.are.equal(3, s.quota_left)
    assert.are.equal(1, s.ready)
  end)
end)
