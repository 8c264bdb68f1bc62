-- Clients with a Lua transport: the same contract as over libcurl, with
-- the call loop in Lua so a transport may yield (OpenResty cosockets).
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local st = require "support.socket_transport"

local function client(t)
  t.base_url = sandbox.url()
  t.retry_base = t.retry_base or 0.01
  t.rate = t.rate or 0
  return userupd.questionpro(t)
end

describe("a Lua transport", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("gives the same answer as libcurl", function()
    local seen
    local c = client{ api_key = "tk", transport = st.new(function(req)
      seen = req end) }
    local user, err, info = c:update(1234599, { firstName = "Via" })
    assert.is_nil(err, tostring(err))
    assert.are.equal("Via", user.firstName)
    assert.are.same({ 200, 1 }, { info.status, info.attempts })
    assert.is_string(info.request_id)
    assert.are.equal("PUT", seen.method)
    assert.are.equal(30, seen.timeout)
    assert.are.equal(c:prepare(1234599, { firstName = "Via" }).body,
                     sandbox.last("questionpro").body)
    local got = assert(c:get(1234599))
    assert.are.equal("Via", got.firstName)
  end)

  it("retries with the sleep it is given, and maps errors the same way",
     function()
    local slept = {}
    sandbox.fault{ fault = "503", count = 2 }
    local c = client{ api_key = "tk", transport = st.new(),
                      sleep = function(s) slept[#slept + 1] = s end,
                      max_retry_wait = 0.01 }
    local user, err, info = c:update(1234599, {})
    assert.is_nil(err)
    assert.truthy(user)
    assert.are.equal(3, info.attempts)
    assert.are.equal(2, #slept)
    local _, nf = c:update(999999999, {})
    assert.are.equal("not_found", nf.kind)
    assert.are.equal("1040", nf.vendor_code)
  end)

  it("reports a transport failure as transport, retried", function()
    local calls = 0
    local c = client{ api_key = "tk", retries = 2, transport = function()
      calls = calls + 1
      return nil, "connection reset by peer", "closed"
    end, sleep = function() end }
    local _, err, info = c:update(1, {})
    assert.are.equal("transport", err.kind)
    assert.are.equal(3, info.attempts)
    assert.are.equal(3, calls)
    assert.matches("reset", err.message, 1, true)
  end)

  it("keeps a Retry-After of nan, inf, 1e400 or -5 a finite wait (no hang)",
     function()
    for _, ra in ipairs({ "nan", "inf", "1e400", "-5" }) do
      local waits = {}
      local c = client{ api_key = "tk", retries = 1,
        sleep = function(s) waits[#waits + 1] = s end,
        transport = function() return 503, "{}", { ["Retry-After"] = ra } end }
      local _, err, info = c:update(1, {})
      assert.are.equal("http", err.kind)
      assert.are.equal(2, info.attempts)
      for _, w in ipairs(waits) do
        assert.is_true(w == w and w >= 0 and w < 100, ra .. ": " .. w)
      end
    end
  end)

  it("does not retry a certificate failure", function()
    local c = client{ api_key = "tk", transport = function()
      return nil, "certificate verify failed", "tls" end }
    local _, err, info = c:update(1, {})
    assert.are.equal("transport", err.kind)
    assert.are.equal(1, info.attempts)
    assert.is_false(err.retryable)
  end)

  it("reads the failure's kind, never its message", function()
    -- each kind: retried or not, whatever the words say
    local cases = { timeout = 3, refused = 3, resolve = 3, closed = 3,
                    tls = 1, protocol = 1, url = 1 }
    for kind, attempts in pairs(cases) do
      local c = client{ api_key = "tk", retries = 2, sleep = function() end,
        transport = function()
          -- words that used to steer the old text matching the other way
          return nil, attempts == 1 and "timed out, connection refused"
                                     or "certificate verify failed", kind
        end }
      local _, err, info = c:update(1, {})
      assert.are.equal("transport", err.kind, kind)
      assert.are.equal(attempts, info.attempts, kind)
      assert.are.equal(attempts > 1, err.retryable, kind)
    end
  end)

  it("raises when a failure has no kind, or one not on the list",
     function()
    for _, k in ipairs({ false, "reset" }) do
      local c = client{ api_key = "tk", transport = function()
        return nil, "connection reset by peer", k or nil end }
      local ok, msg = pcall(c.update, c, 1, {})
      assert.is_false(ok)
      if k then
        assert.matches("invalid option 'reset'", msg, 1, true)
      else
        assert.matches("must be nil, message, kind", msg, 1, true)
      end
    end
  end)

  it("raises for programmer errors with the C methods' wording", function()
    local c = client{ api_key = "tk", transport = function() end }
    local ok, msg = pcall(function() return c:update() end)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'update' (value expected)", msg, 1, true)
    ok, msg = pcall(function() return c:update(1, "x") end)
    assert.is_false(ok)
    assert.matches("bad argument #2 to 'update' (table expected, got string)",
                   msg, 1, true)
    ok, msg = pcall(function() return c:get() end)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'get'", msg, 1, true)
  end)

  it("refuses update_many, which would bypass the transport", function()
    local c = client{ api_key = "tk", transport = function() end }
    local ok, msg = pcall(c.update_many, c, { { 1, {} } }, {})
    assert.is_false(ok)
    assert.matches("has a transport", msg, 1, true)
  end)

  it("refuses bad input before calling the transport", function()
    local called = false
    local c = client{ api_key = "tk", transport = function() called = true end }
    local _, err = c:update(1, { bogus = 1 })
    assert.are.equal("invalid", err.kind)
    assert.is_false(called)
  end)

  it("may yield inside a coroutine (as nginx cosockets do)", function()
    local transport = st.new()
    local c = client{ api_key = "tk", transport = function(req)
      coroutine.yield("io")              -- where a cosocket would park
      return transport(req)
    end, sleep = function(s) coroutine.yield("sleep", s) end }
    sandbox.fault{ fault = "503", count = 1 }
    local co = coroutine.create(function()
      return c:update(1234599, { firstName = "Yield" })
    end)
    local yields, res = 0
    while true do
      res = { coroutine.resume(co) }
      assert.is_true(res[1], tostring(res[2]))
      if coroutine.status(co) == "dead" then break end
      yields = yields + 1
    end
    assert.are.equal("Yield", res[2].firstName)
    assert.are.equal(3, yields)          -- io, sleep, io
  end)

  it("logs in once for many coroutines sharing a Blackbaud client",
     function()
    local transport = st.new()
    local bb = userupd.blackbaud{ username = "co-user", password = "co-pass",
      base_url = sandbox.url(), rate = 0,
      transport = function(req)
        coroutine.yield()                  -- let the others run
        return transport(req)
      end, sleep = function() coroutine.yield() end }
    local cos, done = {}, 0
    for i = 1, 5 do
      cos[i] = coroutine.create(function()
        local user, err = bb:update(1574489, { NickName = "C" .. i })
        assert(user, tostring(err))
        done = done + 1
      end)
    end
    for _ = 1, 200 do                      -- a tiny round-robin scheduler
      for _, co in ipairs(cos) do
        if coroutine.status(co) == "suspended" then
          assert(coroutine.resume(co))
        end
      end
      if done == 5 then break end
    end
    assert.are.equal(5, done)
    assert.are.equal(1, sandbox.stats().logins)
  end)

  it("logs in to Blackbaud through the transport, and again on expiry",
     function()
    local reqs = {}
    local bb = userupd.blackbaud{ username = "tk-user", password = "tk-Secret",
      base_url = sandbox.url(), rate = 0,
      transport = st.new(function(req) reqs[#reqs + 1] = req end) }
    local user, err = bb:update(1574489, { NickName = "One" })
    assert.is_nil(err, tostring(err))
    assert.are.equal("One", user.NickName)
    assert.are.equal("POST", reqs[1].method)
    assert.is_nil(tostring(reqs[1]):find("tk-Secret", 1, true))
    sandbox.expire_bb_tokens()
    user, err = bb:update(1574489, { NickName = "Two" })
    assert.is_nil(err, tostring(err))
    assert.are.equal("Two", user.NickName)
    assert.are.equal(2, sandbox.stats().logins)
  end)
end)
