-- Hostile answers over real sockets (spec/support/hostile.lua, a child
-- process on 127.0.0.1): Retry-After beyond any sane wait, a connection
-- closed in the middle of the headers, a 503 larger than max_response, a
-- megabyte of headers.  Each error says what happened and what the client
-- did about it.
local userupd = require "userupd"
local hostile = require "support.hostile"

-- Ports: USERUPD_HOSTILE_PORT and up, else 300 above this checkout's
-- sandbox port (free in every engineer's block).
local next_port = tonumber(os.getenv("USERUPD_HOSTILE_PORT") or "") or
  (tonumber(os.getenv("USERUPD_SANDBOX_PORT") or "8089") + 300)
local function port()
  next_port = next_port + 1
  return next_port
end

local OK = hostile.answer("200 OK", { "Content-Type: application/json" },
                          '{"response":{"userID":1,"firstName":"H"}}')

local function client(srv, t)
  t = t or {}
  t.api_key, t.base_url = "hostile-key", srv.url
  t.retry_base = 0.01
  t.rate = 0
  t.timeout = 5
  return userupd.questionpro(t)
end

describe("hostile answers", function()
  local srv
  after_each(function()
    if srv then srv:stop() end
    srv = nil
  end)

  for _, ra in ipairs({ "1e308", "Fri, 31 Dec 2100 23:59:59 GMT",
                        "Fri, 31 Dec 9999 23:59:59 GMT" }) do
    it("caps a Retry-After of " .. ra .. " at max_retry_wait", function()
      srv = hostile.start(port(), { hostile.answer("503 Service Unavailable",
        { "Retry-After: " .. ra }, "{}"), OK })
      local waits = {}
      local c = client(srv, { retries = 1, max_retry_wait = 7,
        sleep = function(s) waits[#waits + 1] = s end })
      local user, err, info = c:update(1, { firstName = "H" })
      assert.is_nil(err, tostring(err))
      assert.are.equal("H", user.firstName)
      assert.are.equal(2, info.attempts)
      -- the pause and the retry wait: both max_retry_wait (+ jitter)
      assert.is_true(#waits >= 1)
      for _, w in ipairs(waits) do
        assert.is_true(w >= 6.9 and w <= 7.02, ra .. " waited " .. w)
      end
    end)
  end

  it("pauses the client, capped, on a 429 with a Retry-After of 1e308",
     function()
    srv = hostile.start(port(), { hostile.answer("429 Too Many Requests",
      { "Retry-After: 1e308" }, "{}"), OK })
    local waits = {}
    local c = client(srv, { retries = 1, max_retry_wait = 7,
      sleep = function(s) waits[#waits + 1] = s end })
    local _, err, info = c:update(1, { firstName = "H" })
    assert.is_nil(err, tostring(err))
    assert.are.equal(2, info.attempts)
    assert.is_true(#waits >= 1)
    for _, w in ipairs(waits) do
      assert.is_true(w >= 6.9 and w <= 7.02, "waited " .. w)
    end
  end)

  it("retries a connection closed in the middle of the headers",
     function()
    local cut = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                .. "X-Partial: abc"
    srv = hostile.start(port(), { cut, OK })
    local user, err, info = client(srv, { retries = 1 }):update(1, {})
    assert.is_nil(err, tostring(err))
    assert.are.equal(1, user.userID)
    assert.are.equal(2, info.attempts)
    assert.are.equal(2, srv:requests())
  end)

  it("reports it as a retryable transport failure when retries run out",
     function()
    srv = hostile.start(port(), { "HTTP/1.1 200 OK\r\nX-Partial: ab" })
    local _, err, info = client(srv, { retries = 0 }):update(1, {})
    assert.are.equal("transport", err.kind)
    assert.matches("closed before the end of the answer's headers",
                   err.message, 1, true)
    assert.is_true(err.retryable)
    assert.are.equal(1, info.attempts)
  end)

  it("says a 503 larger than max_response was retried", function()
    local big = hostile.answer("503 Service Unavailable", {},
                               ("x"):rep(5000))
    srv = hostile.start(port(), { big })
    local _, err, info = client(srv, { retries = 2, max_response = 1000 })
      :update(1, {})
    assert.are.equal(3, info.attempts)       -- it was retried ...
    assert.is_true(err.retryable)            -- ... and says so
    assert.are.equal("http", err.kind)
    assert.matches("larger than max_response", err.message, 1, true)
  end)

  it("says a 200 larger than max_response was not retried", function()
    srv = hostile.start(port(), { hostile.answer("200 OK", {},
                                                 ("x"):rep(5000)) })
    local _, err, info = client(srv, { retries = 2, max_response = 1000 })
      :update(1, {})
    assert.are.equal(1, info.attempts)
    assert.is_false(err.retryable)
    assert.are.equal("decode", err.kind)
  end)

  it("says a megabyte of headers was too large", function()
    local h = {}
    for i = 1, 10000 do h[i] = ("X-Pad-%d: %s"):format(i, ("y"):rep(90)) end
    srv = hostile.start(port(), { hostile.answer("200 OK", h, "{}") })
    local _, err, info = client(srv, { retries = 2 }):update(1, {})
    assert.are.equal("transport", err.kind)
    assert.matches("header section was too large", err.message, 1, true)
    assert.is_nil(err.message:find("Out of memory", 1, true))
    assert.is_false(err.retryable)
    assert.are.equal(1, info.attempts)
  end)

  it("says one megabyte header line was too large", function()
    srv = hostile.start(port(), { hostile.answer("200 OK",
      { "X-Big: " .. ("z"):rep(1048576) }, "{}") })
    local _, err, info = client(srv, { retries = 2 }):update(1, {})
    assert.are.equal("transport", err.kind)
    assert.matches("header section was too large", err.message, 1, true)
    assert.is_nil(err.message:find("Out of memory", 1, true))
    assert.are.equal(1, info.attempts)
  end)
end)
