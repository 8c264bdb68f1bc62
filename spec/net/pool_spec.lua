-- One connection pool per client (src/transport/pool.c): a libcurl share handle for
-- every handle the client owns, HTTP/2 by ALPN with PIPEWAIT, the
-- http_version option, max_connections as connections at once.  Counted
-- at the server: the sandbox's stats give distinct connections ($connection),
-- full and resumed TLS handshakes ($ssl_session_reused) and h2 requests.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local clock = require("system").gettime

local function qp(t)
  t = t or {}
  t.api_key = "pool-key"
  t.base_url = t.base_url or sandbox.tls_url()
  t.ca_file = sandbox.ca()
  t.rate, t.retry_base = 0, 0.01
  return userupd.questionpro(t)
end

local function records(n)
  local r = {}
  for i = 1, n do r[i] = { 1000 + i, { firstName = "P" .. i } } end
  return r
end

local function drain()
  local t0 = clock()
  while userupd.pending() > 0 and clock() - t0 < 10 do userupd.poll(0.05) end
end

-- update, get, update_many and submit/poll on one client.
local function four_styles(c, conc)
  local user, err = c:update(1001, { firstName = "Sync" })
  assert.is_nil(err, tostring(err))
  assert.are.equal("Sync", user.firstName)
  user, err = c:get(1001)
  assert.is_nil(err, tostring(err))
  assert.are.equal("Sync", user.firstName)
  local s = c:update_many(records(12), { concurrency = conc, progress = false })
  assert.are.equal(12, s.ok)
  local got = 0
  for i = 1, 4 do                 -- one at a time: in flight at once,
    c:submit(2000 + i, { firstName = "Async" }, function(u, e) -- HTTP/1.1
      assert.is_nil(e, tostring(e))                 -- would need more
      if u then got = got + 1 end                   -- connections
    end)
    drain()
  end
  assert.are.equal(4, got)
  return 2 + 12 + 4
end

describe("one connection pool per client", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() sandbox.config{ delay_ms = 0 } end)

  it("serves update, get, update_many and submit over one h2 connection",
     function()
    local c = qp()
    local n = four_styles(c, 6)
    local st = sandbox.stats()
    assert.are.equal(n, st.requests)
    assert.are.equal(n, st.h2_requests)      -- the server offered h2: used
    assert.are.equal(1, st.connections)
    assert.are.equal(1, st.tls_full)
    assert.are.equal(0, st.tls_resumed)
    c:close()
  end)

  it("reuses one plain HTTP/1.1 connection across the four call styles",
     function()
    local c = qp{ base_url = sandbox.url() }
    local n = four_styles(c, 1)
    local st = sandbox.stats()
    assert.are.equal(n, st.requests)
    assert.are.equal(0, st.h2_requests)
    assert.are.equal(1, st.connections)
    c:close()
  end)

  it("multiplexes 64 in flight over h2 on few connections", function()
    sandbox.config{ delay_ms = 300 }
    local c = qp()
    local t0 = clock()
    local s = c:update_many(records(128), { concurrency = 64, progress = false })
    local took = clock() - t0
    assert.are.equal(128, s.ok)
    -- one cold round trip alone, then two rounds of 64 at once: 0.9 s;
    -- one at a time would take 38 s (the bound leaves room for valgrind)
    assert.is_true(took < 12, "took " .. took)
    local st = sandbox.stats()
    assert.are.equal(128, st.h2_requests)
    assert.is_true(st.connections <= 2, "connections " .. st.connections)
    assert.are.equal(st.connections, st.tls_full)
  end)

  it("past 100 streams a connection, opens only a few more (256 in flight)",
     function()
    sandbox.config{ delay_ms = 300 }
    local c = qp()
    local s = c:update_many(records(512), { concurrency = 256, progress = false })
    assert.are.equal(512, s.ok)
    local st = sandbox.stats()
    assert.are.equal(512, st.h2_requests)
    -- 100 streams per connection (libcurl's default): 3, plus 1 of slack;
    -- without the cap libcurl opened one connection per transfer past 100
    assert.is_true(st.connections <= 4, "connections " .. st.connections)
    assert.are.equal(1, st.tls_full)
    assert.are.equal(st.connections - 1, st.tls_resumed)
  end)

  it("with http_version 1.1 resumes TLS on every connection after the first",
     function()
    sandbox.config{ delay_ms = 100 }
    local c = qp{ http_version = "1.1" }            -- a cold client: a burst
    local s = c:update_many(records(48), { concurrency = 16, progress = false })
    assert.are.equal(48, s.ok)
    local st = sandbox.stats()
    assert.are.equal(0, st.h2_requests)
    assert.is_true(st.connections >= 8, "connections " .. st.connections)
    assert.are.equal(1, st.tls_full)
    assert.are.equal(st.connections - 1, st.tls_resumed)
    -- the sync handle draws from the same pool: no new handshake
    assert.truthy(c:update(1001, { firstName = "Again" }))
    assert.are.equal(1, sandbox.stats().tls_full)
  end)

  it("lets a cold burst go after one handshake, not one answer (issue 22)",
     function()
    -- answers take 3 s: waiting for the first answer before the burst
    -- made it 6 s; after the first TLS handshake the other 31 join its h2
    -- connection at once, so all 32 come back together after ~3 s
    sandbox.config{ delay_ms = 3000 }
    local c = qp()
    local t0 = clock()
    local s = c:update_many(records(32), { concurrency = 32, progress = false })
    local took = clock() - t0
    assert.are.equal(32, s.ok)
    assert.is_true(took < 5, "took " .. took)
    local st = sandbox.stats()
    assert.are.equal(32, st.h2_requests)
    assert.is_true(st.connections <= 2, "connections " .. st.connections)
    assert.are.equal(1, st.tls_full)
  end)

  it("holds a cold burst back for the first transfer only, answer or not",
     function()
    -- every request stalls past the timeout: the first failure warms the
    -- pool like an answer would, so the other 15 fail side by side (0.3 s)
    -- instead of one at a time (4.8 s)
    sandbox.fault{ fault = "stall:secs=1", count = 1000, method = "PUT" }
    local c = qp{ timeout = 0.3, retries = 0 }
    local t0 = clock()
    local s = c:update_many(records(16), { concurrency = 16, progress = false })
    local took = clock() - t0
    sandbox.clear_faults()
    assert.are.equal(16, s.failed)
    assert.is_true(took < 3, "took " .. took)
    -- the stalled requests end (and are counted) a second after they came:
    -- let them, so the next case's connection counts start clean
    require("system").sleep(1.2)
  end)

  it("http_version 2 asks for h2; a bad value names the option", function()
    local c = qp{ http_version = "2" }
    assert.truthy(c:update(1001, { firstName = "Two" }))
    assert.are.equal(1, sandbox.stats().h2_requests)
    local ok, err = pcall(qp, { http_version = "3" })
    assert.is_false(ok)
    assert.matches("option 'http_version' must be \"1.1\" or \"2\"", err, 1, true)
    ok, err = pcall(qp, { http_version = 2 })
    assert.is_false(ok)
    assert.matches("option 'http_version' must be a string", err, 1, true)
    ok, err = pcall(qp, { http_version = "1.1\r\nX: y" })
    assert.is_false(ok)
    assert.matches("http_version", err, 1, true)
  end)

  it("keeps max_connections as connections at once, h2 or not", function()
    sandbox.config{ delay_ms = 200 }
    for _, hv in ipairs { "1.1", false } do
      sandbox.reset()
      sandbox.config{ delay_ms = 200 }
      local ff = userupd.formsonfire{ company_id = 1, integration_key = "k",
        base_url = sandbox.tls_url(), ca_file = sandbox.ca(), rate = 0,
        http_version = hv or nil }
      local recs = {}
      for i = 1, 12 do recs[i] = { string.format("%032x", i), { FirstName = "F" } } end
      local s = ff:update_many(recs, { concurrency = 12, progress = false })
      assert.are.equal(12, s.ok)
      local st = sandbox.stats()
      assert.is_true(st.connections <= 3, "connections " .. st.connections)
      if hv then assert.are.equal(0, st.h2_requests)
      else assert.are.equal(1, st.connections) end
      ff:close()
    end
  end)

  it("frees the pool on close and on collection, with transfers queued",
     function()
    for i = 1, 20 do
      local c = qp{ http_version = (i % 2 == 0) and "1.1" or nil }
      assert.truthy(c:update(1001, { firstName = "G" .. i }))
      c:submit(1002, { firstName = "Q" }, function() end)
      userupd.poll(0)                       -- under way, then dropped
      if i % 3 == 0 then c:close(); c:close() end
      c = nil                               -- luacheck: ignore
      collectgarbage()
    end
    drain()                                 -- the jobs of open clients
    collectgarbage()
    assert.are.equal(0, userupd.pending())
    local c = qp()
    assert.truthy(c:update(1001, { firstName = "After" }))
  end)
end)
