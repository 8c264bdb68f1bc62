-- New cases of issue 21 item 1 (wrong user through reentrancy) for the
-- places Lua runs that came after the first audit: the on_attempt hook
-- (inside update and update_many), on_progress and on_stop of
-- update_many (a call there was a hang: waiting for a connection the
-- run's own transfers held), and a Lua transport's nested call followed
-- by a retry of the outer one.  Whatever that Lua calls, each record still goes to its
-- own user with its own fields.
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local function qp(t)
  t = t or {}
  t.api_key, t.base_url = "reentry2-key", sandbox.url()
  t.rate = t.rate or 0
  t.retry_base, t.max_retry_wait = 0.01, 0.05
  return userupd.questionpro(t)
end

local nested = {
  { "get", function(c) return c:get(222) end },
  { "update", function(c) return c:update(222, { firstName = "Mallory" }) end },
  { "prepare", function(c) return c:prepare(222, { firstName = "Mallory" }) end },
  { "encode", function(c) return c:encode(222, { firstName = "Mallory" }) end },
  { "update_many", function(c)
      return c:update_many({ { 222, { firstName = "Mallory" } } },
                           { progress = false })
    end },
}

local function assert_own_put(id, name)
  local last = sandbox.last("questionpro")
  assert.are.equal("PUT", last.method)
  assert.matches("/users/" .. id .. "?", last.uri, 1, true)
  assert.matches(name, last.body, 1, true)
end

describe("Lua that runs during a call, the newer places", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  for _, n in ipairs(nested) do
    it(("on_attempt inside update: client:%s is refused, update keeps its " ..
        "user"):format(n[1]), function()
      local ok, msg, c
      c = qp{ on_attempt = function()
        if ok == nil then ok, msg = pcall(n[2], c) end
      end }
      local user, err = c:update(111, { firstName = "Alice" })
      assert.is_nil(err)
      assert.is_table(user)
      assert.is_false(ok, "the nested call ran")
      assert.matches("client:" .. n[1] .. " called while client:update",
                     tostring(msg), 1, true)
      assert_own_put(111, "Alice")
      assert.is_nil(sandbox.puts("questionpro")["222"])
      assert(c:update(112, { firstName = "Bob" }))
      assert_own_put(112, "Bob")
    end)
  end

  it("on_attempt inside update_many: nested updates never mix records",
  function()
    local c, nested_ok = nil, 0
    c = qp{ on_attempt = function(t)
      local id = tonumber(t.id)
      if id and id < 900 then
        local ok = pcall(c.update, c, id + 500, { firstName = "N" .. id })
        if ok then nested_ok = nested_ok + 1 end
      end
    end }
    local recs = {}
    for i = 1, 12 do recs[i] = { 300 + i, { firstName = "R" .. (300 + i) } } end
    local s = c:update_many(recs, { concurrency = 4, progress = false })
    assert.are.equal(12, s.ok)
    for i = 1, 12 do
      local u = sandbox.user("questionpro", 300 + i)
      assert.are.equal("R" .. (300 + i), u.firstName)
    end
    -- nested ones, if they ran, went to their own users
    for i = 1, 12 do
      local u = sandbox.user("questionpro", 800 + i)
      if u and u.firstName then
        assert.are.equal("N" .. (300 + i), u.firstName)
      end
    end
    assert.is_true(nested_ok >= 0)
  end)

  it("on_progress and on_stop may update others, records keep their users",
  function()
    local c = qp()
    local k = 0
    local function side()
      k = k + 1
      pcall(c.update, c, 700 + k, { firstName = "S" .. k })
      local ok = pcall(c.update_many, c, { { 699, { firstName = "X" } } },
                       { progress = false })
      assert.is_false(ok, "a nested update_many ran")
    end
    local recs = {}
    for i = 1, 8 do recs[i] = { 400 + i, { firstName = "P" .. (400 + i) } } end
    local s = c:update_many(recs, { concurrency = 2, progress = false,
                                    on_progress = side, on_stop = side })
    assert.are.equal(8, s.ok)
    for i = 1, 8 do
      assert.are.equal("P" .. (400 + i),
                       sandbox.user("questionpro", 400 + i).firstName)
    end
    assert.is_nil(sandbox.puts("questionpro")["699"])
  end)

  it("a transport's nested call, then the outer call's retry: its own " ..
     "request again", function()
    local c
    local sent = {}
    c = userupd.questionpro{ api_key = "k", base_url = "http://127.0.0.1:1",
      rate = 0, retries = 2, retry_base = 0.01, max_retry_wait = 0.02,
      transport = function(req)
        sent[#sent + 1] = { url = req.url, body = req.body }
        if #sent == 1 then
          c:update(222, { firstName = "Mallory" })     -- nested, own call
          return 503, '{"response":{"error":{"id":1,"message":"busy",' ..
                      '"httpStatusCode":503}}}', {}
        end
        return 200, '{"response":{"userID":1}}', {}
      end }
    assert(c:update(111, { firstName = "Alice" }))
    -- 1: outer, 2: nested 222, 3: the outer's retry
    assert.are.equal(3, #sent)
    assert.matches("/users/222?", sent[2].url, 1, true)
    assert.matches("/users/111?", sent[3].url, 1, true)
    assert.matches("Alice", sent[3].body, 1, true)
    assert.is_nil(sent[3].body:find("Mallory", 1, true))
  end)
end)
