-- submit/poll's queue (issue 21 items 14 and 15, issue 23's library
-- ergonomics): a submit that raises leaves nothing queued; a long queue
-- keeps poll(0) short and holds transfer resources only for the jobs
-- being sent; submit returns a job handle that can be cancelled; a
-- missing callback is named as such.
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local GUID = "2ebc64a36a0d400d0123456789abcd01"

local function qp(t)
  t = t or {}
  t.api_key = "aq-key"
  t.base_url = t.base_url or sandbox.url()
  t.rate = t.rate or 0
  t.retries = t.retries or 0
  return userupd.questionpro(t)
end

local function drain(limit)
  for _ = 1, limit or 400 do
    if userupd.pending() == 0 then return end
    userupd.poll(0.05)
  end
end

local function raising() error("boom from the record") end

-- Ways a submit can raise after it has started reading the record.
local raisers = {
  ["__index of a Metadata item"] = function()
    local c = userupd.formsonfire{ company_id = 7, integration_key = "k",
                                   base_url = sandbox.url(), rate = 0 }
    return c, GUID, { Metadata = { setmetatable({}, { __index = raising }) } }
  end,
  ["a shared_budget store's take"] = function()
    local raised = false                        -- once, then it answers
    local c = qp{ rate = 10, shared_budget = {
      take = function()
        if not raised then raised = true; raising() end
        return 0
      end,
      spend = function() return 1, true end } }
    return c, 1001, { firstName = "A" }
  end,
  ["__index of opts"] = function()
    return qp(), 1001, { firstName = "A" }, setmetatable({}, {
      __index = raising })
  end,
}

describe("submit and poll", function()
  setup(function() sandbox.start() end)
  before_each(function()
    drain()
    sandbox.reset()
  end)

  for name, make in pairs(raisers) do
    it("a submit that raises in " .. name .. " leaves nothing queued",
       function()
      local c, id, fields, opts = make()
      local called = false
      local ok, err = pcall(function()
        if opts then
          return c:submit(id, fields, opts, function() called = true end)
        end
        return c:submit(id, fields, function() called = true end)
      end)
      assert.is_false(ok)
      assert.matches("boom from the record", tostring(err), 1, true)
      assert.are.equal(0, userupd.pending())
      assert.are.equal(0, userupd.poll(1))      -- returns at once
      assert.is_false(called)
      -- the client is still usable
      local got
      c:submit(id, type(id) == "number" and { firstName = "B" }
                   or { FirstName = "B" }, function(u, e) got = u or e end)
      drain()
      assert.is_table(got)
      c:close()
    end)
  end

  it("says a callback function is expected when it is missing", function()
    local c = qp()
    for _, call in ipairs{
      function() return c:submit(1, {}) end,
      function() return c:submit(1, {}, {}) end,
      function() return c:submit(1, {}, { extra = {} }, "f") end,
    } do
      local ok, err = pcall(call)
      assert.is_false(ok)
      assert.matches("a callback function is expected", err, 1, true)
      assert.matches("to 'submit'", err, 1, true)
    end
    assert.are.equal(0, userupd.pending())
  end)

  it("returns a handle that cancels a waiting job", function()
    local c = qp{ rate = 1, burst = 1 }       -- the second waits ~1 s
    local ran = {}
    local first = c:submit(1001, { firstName = "A" },
                           function() ran[#ran + 1] = 1001 end)
    local second = c:submit(1002, { firstName = "B" },
                            function() ran[#ran + 1] = 1002 end)
    assert.are.equal("waiting", second:status())
    assert.is_true(second:cancel())
    assert.are.equal("cancelled", second:status())
    assert.matches("cancelled", tostring(second), 1, true)
    assert.are.equal(1, userupd.pending())
    drain()
    assert.are.same({ 1001 }, ran)
    assert.are.equal("done", first:status())
    local ok, why = first:cancel()             -- too late: it ran
    assert.is_false(ok)
    assert.are.equal("done", why)
    assert.is_nil(sandbox.puts("questionpro")["1002"])
    c:close()
  end)

  it("does not cancel a job being sent: its callback still runs", function()
    local c = userupd.smartermeasure{ username = "u", password = "p",
      base_url = sandbox.url() .. "/_slow/300/smartermeasure", rate = 0 }
    local got
    local h = c:submit(1001, { FirstName = "A" }, function(u) got = u end)
    userupd.poll(0)
    assert.are.equal("sending", h:status())
    local ok, why = h:cancel()
    assert.is_false(ok)
    assert.are.equal("sending", why)
    drain()
    assert.is_table(got)
    c:close()
  end)

  it("holds transfer resources only for the jobs it sends (at most 64)",
     function()
    local c = userupd.smartermeasure{ username = "u", password = "p",
      base_url = sandbox.url() .. "/_slow/3000/smartermeasure", rate = 0 }
    local handles = {}
    for i = 1, 2000 do
      handles[i] = c:submit(1000 + i, { FirstName = "A" }, function() end)
    end
    for _ = 1, 5 do userupd.poll(0) end
    local count = { waiting = 0, sending = 0 }
    for i = 1, #handles do
      local st = handles[i]:status()
      count[st] = (count[st] or 0) + 1
    end
    assert.is_true(count.sending > 0 and count.sending <= 64,
                   "sending " .. count.sending)
    assert.is_true(count.waiting >= 2000 - 64 - (count.done or 0))
    -- poll(0) with 2,000 queued costs about what it costs with 20
    local function cost()
      local t0 = os.clock()
      for _ = 1, 20 do userupd.poll(0) end
      return os.clock() - t0
    end
    local big = cost()
    c:close()                                  -- cancels them all
    assert.are.equal(0, userupd.pending())
    local small_c = userupd.smartermeasure{ username = "u", password = "p",
      base_url = sandbox.url() .. "/_slow/3000/smartermeasure", rate = 0 }
    for i = 1, 20 do
      small_c:submit(1000 + i, { FirstName = "A" }, function() end)
    end
    userupd.poll(0)
    local small = cost()
    small_c:close()
    -- generous: the old queue scanned all 2,000 (100x) on every poll
    assert.is_true(big < small * 10 + 0.05,
                   ("2000 queued: %.4f s, 20 queued: %.4f s"):format(big,
                                                                   small))
  end)

  it("cleans up jobs whose handle was collected, and handles of gone jobs",
     function()
    local c = qp()
    for i = 1, 50 do c:submit(1000 + i, { firstName = "A" }, function() end) end
    collectgarbage()
    collectgarbage()
    local h = c:submit(1, { firstName = "A" }, function() end)
    drain()
    assert.are.equal(0, userupd.pending())
    assert.are.equal("done", h:status())
    c:close()
  end)
end)
