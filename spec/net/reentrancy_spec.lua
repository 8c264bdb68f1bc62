-- Lua that runs inside a call (issue 21 item 1; docs/reentrancy.md): a
-- hook, a shared_budget store, a metamethod or a finalizer that calls the
-- client it runs for.  A call's id, URL and body are its own: a nested
-- call on the same client is refused with an error naming both calls, and
-- the running call still sends its own record to its own user.  Closing
-- the client from any of them ends the call with a "closed" error and
-- frees everything once (tools/asan and tools/valgrind run this file).
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local function qp(t)
  t = t or {}
  t.api_key, t.base_url = "reentry-key", sandbox.url()
  t.rate = t.rate or 0
  t.retry_base, t.max_retry_wait = 0.01, 0.05
  return userupd.questionpro(t)
end

-- The nested calls a hook might try on the client it runs for.
local nested = {
  { "get", function(c) return c:get(222) end },
  { "update", function(c) return c:update(222, { firstName = "Mallory" }) end },
  { "prepare", function(c) return c:prepare(222, { firstName = "Mallory" }) end },
  { "encode", function(c) return c:encode(222, { firstName = "Mallory" }) end },
  { "update_many", function(c)
      return c:update_many({ { 222, { firstName = "Mallory" } } })
    end },
}

-- The places Lua runs inside update: each gets a function to run there
-- and returns a client, and the opts to pass to update.
local places = {
  sleep = function(run)
    local c
    c = qp{ rate = 1, burst = 1, sleep = function() run(c) end }
    assert(c:update(100, { firstName = "Warm" }))   -- the burst token
    return c
  end,
  store = function(run)
    local c
    c = qp{ rate = 100, shared_budget = {
      take = function() run(c); return 0 end,
      spend = function() return 1, true end } }
    return c
  end,
  ["__index of opts"] = function(run)
    local c = qp()
    return c, setmetatable({}, { __index = function() run(c) end })
  end,
  ["__gc of another object"] = function(run)
    local c
    c = qp{ rate = 1, burst = 1, sleep = function() collectgarbage() end }
    assert(c:update(100, { firstName = "Warm" }))
    local function arm()
      local o = {}
      if newproxy then                            -- 5.1 / LuaJIT
        o = newproxy(true)
        getmetatable(o).__gc = function() run(c) end
      else
        setmetatable(o, { __gc = function() run(c) end })
      end
    end
    arm()                                         -- garbage by now
    return c
  end,
}

local function assert_own_put(id, name)
  local last = sandbox.last("questionpro")
  assert.are.equal("PUT", last.method)
  assert.matches("/users/" .. id .. "?", last.uri, 1, true)
  assert.matches(name, last.body, 1, true)
  assert.is_nil(sandbox.puts("questionpro")["222"])
end

describe("Lua that runs during a call", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  for place, make in pairs(places) do
    for _, n in ipairs(nested) do
      it(("refuses client:%s from %s, and update keeps its own user")
         :format(n[1], place), function()
        local ok, msg
        local c, opts = make(function(cl)
          if ok == nil then ok, msg = pcall(n[2], cl) end
        end)
        local user, err = c:update(111, { firstName = "Alice" }, opts)
        assert.is_nil(err)
        assert.is_table(user)
        assert.is_false(ok, "the nested call ran")
        assert.matches("client:" .. n[1] .. " called while client:update "
                       .. "is running", tostring(msg), 1, true)
        assert_own_put(111, "Alice")
        -- the client is whole afterwards
        assert(c:update(112, { firstName = "Bob" }))
        assert_own_put(112, "Bob")
        c:close()
      end)
    end
  end

  it("refuses a nested call from the hooks of get, prepare and encode",
     function()
    local seen = {}
    local c
    c = qp()
    local opts = setmetatable({}, { __index = function()
      seen[#seen + 1] = select(2, pcall(c.get, c, 222))
    end })
    assert(c:prepare(111, { firstName = "A" }, opts))
    assert(c:encode(111, { firstName = "A" }, opts))
    assert.are.equal(2, #seen)
    assert.matches("client:get called while client:prepare", seen[1], 1, true)
    assert.matches("client:get called while client:encode", seen[2], 1, true)
    local req = c:prepare(111, { firstName = "A" })
    assert.matches("/users/111?", req.url, 1, true)
  end)

  it("argument errors of the guarded methods still name the method",
     function()
    local c = qp()
    for _, case in ipairs{
      { function() c:update() end, "bad argument #1 to 'update'" },
      { function() c:update(1, "x") end,
        "bad argument #2 to 'update' (table expected, got string)" },
      { function() c:get() end, "bad argument #1 to 'get'" },
      { function() c:prepare(1, 5) end, "bad argument #2 to 'prepare'" },
      { function() c:encode(1, true) end, "bad argument #2 to 'encode'" },
    } do
      local ok, err = pcall(case[1])
      assert.is_false(ok)
      assert.matches(case[2], err, 1, true)
    end
  end)

  it("never calls __pairs or __len of the fields (raw traversal)", function()
    local c = qp()
    local called = false
    local fields = setmetatable({ firstName = "Raw" }, {
      __pairs = function() called = true; return next, {}, nil end,
      __len = function() called = true; return 0 end,
      __index = function() called = true end })
    local body = assert(c:encode(111, fields))
    assert.matches('"firstName":"Raw"', body, 1, true)
    assert.is_false(called)
  end)

  it("a raising hook ends the call and leaves the client usable", function()
    local c
    local raise = true
    c = qp{ rate = 1, burst = 1, sleep = function()
      if raise then raise = false; error("hook failed") end
    end }
    assert(c:update(100, {}))
    local ok, err = pcall(c.update, c, 111, { firstName = "A" })
    assert.is_false(ok)
    assert.matches("hook failed", tostring(err), 1, true)
    assert(c:update(112, { firstName = "Bob" }))   -- not left "busy"
    assert_own_put(112, "Bob")
  end)

  for place, make in pairs(places) do
    it("closing the client from " .. place .. " ends the call as closed",
       function()
      local c, opts = make(function(cl) cl:close() end)
      local user, err = c:update(111, { firstName = "Alice" }, opts)
      assert.is_nil(user)
      assert.are.equal("transport", err.kind)
      assert.matches("closed", err.message, 1, true)
      assert.is_nil(sandbox.puts("questionpro")["111"])
      assert.matches("closed client", select(2, pcall(c.get, c, 1)), 1, true)
      c:close()                                   -- idempotent
    end)
  end

  it("a transport client's nested call has its own request", function()
    local c, inner
    c = userupd.questionpro{ api_key = "k", base_url = "http://127.0.0.1:1",
      transport = function(req)
        if req.url:find("/users/111?", 1, true) and not inner then
          inner = { c:get(222) }
        end
        return 200, '{"response":{"userID":1}}', {}
      end }
    local sent = {}
    local real = c
    assert(real:update(111, { firstName = "Alice" }))
    assert.is_table(inner[1])
    -- the outer request was built before the nested one and is unchanged
    c = userupd.questionpro{ api_key = "k", base_url = "http://127.0.0.1:1",
      transport = function(req)
        sent[#sent + 1] = req
        if #sent == 1 then c:get(222) end
        return 200, '{"response":{"userID":1}}', {}
      end }
    assert(c:update(111, { firstName = "Alice" }))
    assert.are.equal(2, #sent)
    assert.matches("/users/111?", sent[1].url, 1, true)
    assert.matches("Alice", sent[1].body, 1, true)
    assert.matches("/users/222?", sent[2].url, 1, true)
  end)
end)
