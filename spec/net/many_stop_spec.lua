-- update_many's early stops the CLI builds on (issue 23 #8, #12):
-- max_rate_limited ends a 429 storm like max_auth_failures ends an auth
-- storm, with the rest left pending; on_stop(why, in_flight) is called
-- once, as soon as the run stops pulling, so a caller can say so at once.
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local function qp(t)
  t = t or {}
  t.api_key = "stop-key"
  t.base_url = sandbox.url()
  t.rate = 0
  t.retries = t.retries or 0
  return userupd.questionpro(t)
end

local function records(n)
  local t = {}
  for i = 1, n do t[i] = { 8700 + i, { firstName = "N" .. i } } end
  return t
end

describe("update_many stopping early", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("stops after max_rate_limited rate_limited records in a row, the " ..
     "rest held, and tells on_stop once", function()
    sandbox.fault{ fault = "429-noretry", vendor = "questionpro" }
    local told = {}
    local s = qp():update_many(records(30), { concurrency = 1,
      progress = false, max_rate_limited = 4,
      on_stop = function(why, flying) told[#told + 1] = { why, flying } end })
    assert.are.equal("rate_limited", s.stopped)
    assert.are.equal(4, s.failed)
    assert.are.equal(4, s.by_kind.rate_limited)
    assert.are.equal(4, sandbox.stats().requests)
    assert.are.equal(1, #told)
    assert.are.equal("rate_limited", told[1][1])
    assert.are.equal(0, told[1][2])
  end)

  it("defaults to 5, and 0 never stops", function()
    sandbox.fault{ fault = "429-noretry", vendor = "questionpro" }
    local s = qp():update_many(records(12), { concurrency = 1,
                                              progress = false })
    assert.are.equal("rate_limited", s.stopped)
    assert.are.equal(5, s.failed)
    sandbox.reset()
    sandbox.fault{ fault = "429-noretry", vendor = "questionpro" }
    s = qp():update_many(records(12), { concurrency = 1, progress = false,
                                        max_rate_limited = 0 })
    assert.is_nil(s.stopped)
    assert.are.equal(12, s.failed)
  end)

  it("a success breaks the streak", function()
    sandbox.fault{ fault = "429-noretry", vendor = "questionpro", every = 2 }
    local s = qp():update_many(records(20), { concurrency = 1,
      progress = false, max_rate_limited = 2 })
    assert.is_nil(s.stopped)
    assert.are.equal(10, s.ok)
    assert.are.equal(10, s.failed)
  end)

  it("on_stop is not called for a run that ends normally, and may close " ..
     "the client", function()
    local called = false
    local s = qp():update_many(records(3), { progress = false,
      on_stop = function() called = true end })
    assert.is_nil(s.stopped)
    assert.is_false(called)
    sandbox.fault{ fault = "429-noretry", vendor = "questionpro" }
    local c = qp()
    s = c:update_many(records(20), { concurrency = 1, progress = false,
      max_rate_limited = 1, on_stop = function() c:close() end })
    assert.are.equal("closed", s.stopped)
  end)

  it("refuses a call on the same client from on_stop, at once, and frees " ..
     "it afterwards", function()
    -- requests are on the wire while on_stop runs: an update on the same
    -- client would wait for the connections they hold
    sandbox.fault{ fault = "429-noretry", vendor = "questionpro", count = 2 }
    local c = qp{ timeout = 2 }
    local msgs = {}
    local t0 = os.time()
    local s = c:update_many(records(12), { concurrency = 2, progress = false,
      max_rate_limited = 1, on_stop = function()
        for _, call in ipairs{
          function() return c:update(701, { firstName = "x" }) end,
          function() return c:get(701) end,
          function() return c:encode(701, { firstName = "x" }) end,
          function() return c:update_many(records(1), { progress = false }) end,
        } do
          local ok, err = pcall(call)
          msgs[#msgs + 1] = not ok and tostring(err) or "ran"
        end
      end })
    assert.are.equal("rate_limited", s.stopped)
    assert.is_true(os.time() - t0 < 20)
    assert.are.equal(4, #msgs)
    for _, m in ipairs(msgs) do
      assert.matches("called while client:update_many %(its on_stop%) "
                     .. "is running on the same client", m)
    end
    assert.truthy(c:update(701, { firstName = "x" }))   -- free again
  end)

  it("refuses an on_stop that is not a function", function()
    assert.has_error(function()
      qp():update_many(records(1), { on_stop = 42 })
    end)
    assert.has_error(function()
      qp():update_many(records(1), { max_rate_limited = -1 })
    end)
  end)
end)
