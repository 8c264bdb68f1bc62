-- on_attempt, the per-attempt trace hook, on the libcurl paths (update,
-- update_many, submit/poll) against the sandbox: one call per attempt with
-- its number, status or error kind, the wait before it and why (pacing,
-- Retry-After, backoff), the connection reused or new, libcurl's times;
-- no secret in any of it; and on the Lua-transport path (driver.lua).
-- Inside nginx: spec/openresty/attempt_ngx_spec.lua.
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local st = require "support.socket_transport"

local KEY = "qp-attempt-Secret-77x"

local function client(opts)
  local o = { api_key = KEY, base_url = sandbox.url(), rate = 0,
              retries = 3, retry_base = 0.02, max_retry_wait = 2 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return userupd.questionpro(o)
end

-- Every string and number of the records, for the secret check.
local function flatten(t, out)
  out = out or {}
  for k, v in pairs(t) do
    out[#out + 1] = tostring(k)
    if type(v) == "table" then flatten(v, out) else out[#out + 1] = tostring(v) end
  end
  return out
end

local function check_times(r)
  local t = r.time
  assert.is_table(t, "time")
  for _, k in ipairs{ "dns", "connect", "tls", "first_byte", "total" } do
    assert.is_number(t[k], k)
    assert.is_true(t[k] >= 0, k)
  end
  assert.is_true(t.total >= t.first_byte, "total >= first_byte")
  assert.is_true(t.first_byte >= t.connect, "first_byte >= connect")
  assert.is_true(t.total < 10)
end

describe("on_attempt", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("traces a 429 with Retry-After, a 502 backed off, then the success",
     function()
    local seen = {}
    local c = client{ on_attempt = function(r) seen[#seen + 1] = r end }
    sandbox.fault{ fault = "429:retry_after=1", count = 1, method = "PUT" }
    sandbox.fault{ fault = "502", count = 1, method = "PUT" }
    local user, err, info = c:update(1234599, { firstName = "Tr" })
    assert.is_nil(err, tostring(err))
    assert.truthy(user)
    assert.are.equal(3, info.attempts)
    assert.are.equal(3, #seen)
    local a, b, d = seen[1], seen[2], seen[3]
    assert.are.same({ 1, 429, "rate_limited", "retry", "questionpro",
                      "update", "1234599" },
                    { a.attempt, a.status, a.error, a.verdict, a.vendor,
                      a.op, a.id })
    assert.are.equal(0, a.wait)
    assert.is_nil(a.wait_reason)
    assert.is_false(a.reused)             -- the first connection is new
    assert.is_true(a.retry_in >= 1 and a.retry_in < 2, a.retry_in)
    -- the wait before attempt 2 is the one attempt 1 announced
    assert.are.same({ 2, 502, "http", "retry", "retry_after" },
                    { b.attempt, b.status, b.error, b.verdict,
                      b.wait_reason })
    assert.are.equal(a.retry_in, b.wait)
    assert.is_true(b.reused, "the 429's connection is kept")
    assert.are.same({ 3, 200, "done", "backoff" },
                    { d.attempt, d.status, d.verdict, d.wait_reason })
    assert.is_nil(d.error)
    assert.is_nil(d.retry_in)
    assert.are.equal(b.retry_in, d.wait)
    assert.is_true(d.wait < 0.5, "backoff, not Retry-After: " .. d.wait)
    for _, r in ipairs(seen) do
      check_times(r)
      assert.matches("^[%x-]+$", r.request_id)
    end
    assert.are.equal(0, seen[3].time.connect)   -- reused: no connect
  end)

  it("says a connection is reused across calls, and waits for pacing",
     function()
    local seen = {}
    local c = client{ rate = 4, burst = 1,
                      on_attempt = function(r) seen[#seen + 1] = r end }
    for i = 1, 3 do
      assert.truthy(c:update(1234599, { firstName = "P" .. i }))
    end
    assert.are.equal(3, #seen)
    assert.is_false(seen[1].reused)
    assert.is_true(seen[2].reused)
    assert.is_true(seen[3].reused)
    assert.is_true(seen[1].time.connect > 0)
    for i = 2, 3 do
      assert.are.equal("pacing", seen[i].wait_reason)
      assert.is_true(seen[i].wait > 0.1 and seen[i].wait <= 0.26,
                     "wait " .. seen[i].wait)
    end
  end)

  it("says when the wait was the shared budget's", function()
    local file = os.tmpname()
    os.remove(file)
    local seen = {}
    local c = client{ rate = 4, burst = 1, shared_budget = file,
                      on_attempt = function(r) seen[#seen + 1] = r end }
    for i = 1, 2 do
      assert.truthy(c:update(1234599, { firstName = "B" .. i }))
    end
    os.remove(file)
    assert.are.equal("budget", seen[2].wait_reason)
    assert.is_true(seen[2].wait > 0.1 and seen[2].wait < 1,
                   "wait " .. seen[2].wait)
  end)

  it("reports a dropped connection as a transport error with its code",
     function()
    local seen = {}
    local c = client{ retries = 1,
                      on_attempt = function(r) seen[#seen + 1] = r end }
    sandbox.fault{ fault = "drop", count = 1, method = "PUT" }
    assert.truthy(c:update(1234599, { firstName = "D" }))
    assert.are.equal(2, #seen)
    assert.are.equal("transport", seen[1].error)
    assert.is_nil(seen[1].status)
    assert.is_number(seen[1].curl_code)
    assert.are.equal("retry", seen[1].verdict)
    assert.are.equal(200, seen[2].status)
  end)

  it("traces every attempt of update_many, with the record's id", function()
    local seen = {}
    local c = client{ on_attempt = function(r) seen[#seen + 1] = r end }
    sandbox.fault{ fault = "503:retry_after=0", count = 2, method = "PUT" }
    local recs = {}
    for i = 1, 4 do recs[i] = { 1234590 + i, { firstName = "M" .. i } } end
    local s = c:update_many(recs, { concurrency = 2, progress = false })
    assert.are.equal(4, s.ok)
    assert.are.equal(6, #seen)
    local by_id, retried = {}, 0
    for _, r in ipairs(seen) do
      by_id[r.id] = (by_id[r.id] or 0) + 1
      if r.status == 503 then
        retried = retried + 1
        assert.are.equal("retry", r.verdict)
      else
        assert.are.equal(200, r.status)
        if r.attempt == 2 then
          assert.are.equal("retry_after", r.wait_reason)
        end
      end
      check_times(r)
    end
    assert.are.equal(2, retried)
    for i = 1, 4 do assert.is_true(by_id[tostring(1234590 + i)] >= 1) end
  end)

  it("traces submit/poll attempts too", function()
    local seen, done = {}, false
    local c = client{ on_attempt = function(r) seen[#seen + 1] = r end }
    sandbox.fault{ fault = "502", count = 1, method = "PUT" }
    c:submit(1234599, { firstName = "A" }, function() done = true end)
    for _ = 1, 200 do
      userupd.poll(0.05)
      if done then break end
    end
    assert.is_true(done)
    assert.are.equal(2, #seen)
    assert.are.same({ 502, "retry" }, { seen[1].status, seen[1].verdict })
    assert.are.same({ 200, "done", "backoff" },
                    { seen[2].status, seen[2].verdict, seen[2].wait_reason })
  end)

  it("holds no secret", function()
    local seen = {}
    local c = client{ on_attempt = function(r) seen[#seen + 1] = r end }
    sandbox.fault{ fault = "429:retry_after=0", count = 1, method = "PUT" }
    assert.truthy(c:update(1234599, { firstName = "S" }))
    assert.truthy(c:get(1234599))
    assert.are.equal(3, #seen)
    assert.are.equal("get", seen[3].op)
    local text = table.concat(flatten(seen), "\n")
    assert.is_nil(text:find(KEY, 1, true))
    assert.is_nil(text:find("apiKey", 1, true))
    assert.is_nil(text:find("http", 1, true))      -- no URL
  end)

  it("may close the client: a retry ends, a success stands", function()
    local c
    c = client{ on_attempt = function() c:close() end }
    sandbox.fault{ fault = "502", count = 1, method = "PUT" }
    local user, err = c:update(1234599, { firstName = "C" })
    assert.is_nil(user)
    assert.matches("closed", tostring(err))
    assert.are.equal(1, sandbox.stats().requests)    -- no second attempt
    c = client{ on_attempt = function() c:close() end }
    user, err = c:update(1234599, { firstName = "C2" })
    assert.is_nil(err, tostring(err))
    assert.are.equal("C2", user.firstName)
  end)

  it("a raise in it is the call's", function()
    local c = client{ on_attempt = function() error("hook says no") end }
    assert.has_error(function() c:update(1234599, { firstName = "R" }) end,
                     "hook says no")
    -- the client is still usable afterwards
    local d = 0
    c = client{ on_attempt = function() d = d + 1 end }
    assert.truthy(c:update(1234599, { firstName = "R2" }))
    assert.are.equal(1, d)
  end)
  it("is the same through a Lua transport, with what it tells of the transfer",
     function()
    local seen, n = {}, 0
    local plain = st.new()
    local c = client{
      on_attempt = function(r) seen[#seen + 1] = r end,
      transport = function(req)
        n = n + 1
        local status, body, headers = plain(req)
        return status, body, headers, { reused = n > 1, connect = 0.001,
          first_byte = 0.002, total = 0.003, dns = "not a number" }
      end }
    sandbox.fault{ fault = "429:retry_after=1", count = 1, method = "PUT" }
    sandbox.fault{ fault = "502", count = 1, method = "PUT" }
    local user, err, info = c:update(1234599, { firstName = "Lt" })
    assert.is_nil(err, tostring(err))
    assert.truthy(user)
    assert.are.equal(3, info.attempts)
    assert.are.equal(3, #seen)
    assert.are.same({ 1, 429, "rate_limited", "retry", 0, false },
      { seen[1].attempt, seen[1].status, seen[1].error, seen[1].verdict,
        seen[1].wait, seen[1].reused })
    assert.is_true(seen[1].retry_in >= 1)
    assert.are.same({ 2, 502, "retry_after", true },
      { seen[2].attempt, seen[2].status, seen[2].wait_reason,
        seen[2].reused })
    assert.are.equal(seen[1].retry_in, seen[2].wait)
    assert.are.same({ 3, 200, "done", "backoff" },
      { seen[3].attempt, seen[3].status, seen[3].verdict,
        seen[3].wait_reason })
    -- numbers are copied, anything else is not
    assert.are.same({ connect = 0.001, first_byte = 0.002, total = 0.003 },
                    seen[3].time)
  end)

  it("a transport failure on the Lua path is a transport error", function()
    local seen = {}
    local calls = 0
    local c = client{ retries = 1,
      on_attempt = function(r) seen[#seen + 1] = r end,
      transport = function()
        calls = calls + 1
        if calls == 1 then return nil, "reset", "closed" end
        return 200, '{"response":{"id":1234599}}', {}
      end }
    assert.truthy(c:update(1234599, { firstName = "F" }))
    assert.are.same({ "transport", "retry" },
                    { seen[1].error, seen[1].verdict })
    assert.is_number(seen[1].curl_code)
    assert.is_nil(seen[1].time)         -- the transport told nothing
  end)
end)
