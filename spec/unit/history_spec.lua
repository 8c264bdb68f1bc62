-- The journal's history (journal/history.c, binding/history_lua.c): the
-- runs it has seen and the rows the last run refused, for `userupd
-- failures`.  In-process, no sandbox.
local userupd = require "userupd"

describe("journal history", function()
  local path, j
  before_each(function()
    path = os.tmpname()
    os.remove(path)
    j = assert(userupd.journal(path, "questionpro"))
  end)
  after_each(function()
    j:close()
    for _, s in ipairs({ "", "-wal", "-shm", ".lock" }) do
      os.remove(path .. s)
    end
  end)

  it("is empty in a new journal", function()
    assert.are.same({}, j:runs())
    assert.are.same({}, j:refused())
  end)

  it("numbers runs and keeps the last run's refused rows", function()
    local run = j:record_run{ started = 100, finished = 160,
      header = '["id","email"]', refused = {
        { line = 3, id = "N/A", kind = "invalid", reason = "bad id",
          cells = '{"id":"N/A","email":"a@x"}' },
        { line = 5, reason = "map: boom" } } }
    assert.are.equal(1, run)
    local runs = j:runs()
    assert.are.equal(1, #runs)
    assert.are.equal(100, runs[1].started)
    assert.are.same({ "id", "email" }, runs[1].header)
    assert.are.equal(userupd.null, runs[1].stopped)
    local list = j:refused()
    assert.are.equal(2, #list)
    assert.are.equal("N/A", list[1].id)
    assert.are.equal("a@x", list[1].cells.email)
    assert.are.equal("invalid", list[2].kind)        -- the default kind
    assert.are.equal(userupd.null, list[2].id)
    assert.are.equal(2, j:record_run{ started = 200, finished = 201,
                                      stopped = "daily_quota" })
    assert.are.same({}, j:refused())                 -- the last run's only
    assert.are.equal("daily_quota", j:runs()[2].stopped)
  end)

  it("keeps a refused row whose id the journal holds as failed", function()
    assert(userupd._journal_record(path, "questionpro", { id = "7001",
      state = "failed", kind = "http", message = "x" }))
    j:record_run{ started = 1, finished = 2, refused = {
      { line = 2, id = "7001", kind = "failed", reason = "x" },
      { line = 3, id = "7002", kind = "invalid", reason = "y" } } }
    j:record_run{ started = 3, finished = 4 }
    local list = j:refused()
    assert.are.equal(1, #list)
    assert.are.equal("7001", list[1].id)
    assert.are.equal(1, list[1].run)
  end)

  it("checks every row before writing anything", function()
    assert.has_error(function()
      j:record_run{ refused = { { line = 2, reason = "ok" }, { line = 3,
                                                             reason = 7 } } }
    end)
    assert.has_error(function() j:record_run{ refused = { "x" } } end)
    assert.are.same({}, j:runs())
    assert.has_error(function() j:prune({ 12 }) end)
  end)

  it("prunes failed ids: back to their last success, or removed", function()
    assert(userupd._journal_record(path, "questionpro", { id = "7001",
      state = "ok", payload = '{"firstName":"A"}', hash = "00000000000000ff" }))
    assert(userupd._journal_record(path, "questionpro", { id = "7001",
      state = "failed", kind = "http", message = "x" }))
    assert(userupd._journal_record(path, "questionpro", { id = "7002",
      state = "invalid", kind = "invalid", message = "y" }))
    assert.are.equal(2, #j:failures())
    assert.are.equal(0, j:prune({ "nope" }))
    assert.are.equal(0, j:prune({}))
    assert.is_true(j:prune({ "7001", "7002" }) >= 2)
    assert.are.same({}, j:failures())
    assert.are.equal("ok", j:get("7001").state)      -- its last success
    assert.is_nil(j:get("7002"))                     -- never succeeded
  end)
end)
