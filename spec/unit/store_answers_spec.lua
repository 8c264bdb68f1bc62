-- A Lua shared_budget store whose take answers a wait no budget could
-- have made (issue 21 items 12 and 13's class: a hang past the timeout):
-- infinite, 1e300, past the skew bound ((max(burst,1)+256)/rate + 60 s),
-- NaN, negative, or not a number at all.  Each is an error naming the
-- store, raised before anything is sent, and never a sleep: the sleep
-- hook here counts what the call would have slept.  Through update (the
-- libcurl loop and a Lua transport's loop) and update_many.
local userupd = require "userupd"

local ANSWERS = { math.huge, 1e300, 1e7, 0 / 0, -5, -math.huge, "soon",
                  true }

local function client(answer, with_transport)
  local slept, sent = 0, 0
  local o = { api_key = "store-key", base_url = "http://127.0.0.1:9",
    rate = 1, burst = 1, timeout = 1, retries = 0,
    sleep = function(s) slept = slept + s end,
    shared_budget = setmetatable({
      take = function() return answer end,
      spend = function() return 1, true end,
    }, { __tostring = function() return "the-test-store" end }) }
  if with_transport then
    o.transport = function()
      sent = sent + 1
      return 200, '{"response":{"userID":1}}', {}
    end
  end
  local c = userupd.questionpro(o)
  return c, function() return slept, sent end
end

describe("a store's take answer no budget could make", function()
  for _, answer in ipairs(ANSWERS) do
    for _, tr in ipairs{ false, true } do
      it(("%s (%s) is an error naming the store, never a sleep")
         :format(tostring(answer), tr and "Lua transport" or "libcurl"),
      function()
        local c, seen = client(answer, tr)
        local ok, err = pcall(c.update, c, 1, { firstName = "A" })
        assert.is_false(ok, "the call went on")
        assert.matches("the-test-store", tostring(err), 1, true)
        local slept, sent = seen()
        assert.are.equal(0, slept)
        assert.are.equal(0, sent)
      end)
    end
    it(("%s stops update_many with the store named")
       :format(tostring(answer)), function()
      local c, seen = client(answer, false)
      local ok, err = pcall(c.update_many, c, { { 1, { firstName = "A" } } },
                            { progress = false })
      assert.is_false(ok)
      assert.matches("the-test-store", tostring(err), 1, true)
      assert.are.equal(0, (seen()))
    end)
  end

  it("an ordinary answer still paces", function()
    local c, seen = client(0.25, true)
    assert(c:update(1, { firstName = "A" }))
    local slept, sent = seen()
    assert.is_true(slept >= 0.2 and slept < 1, "slept " .. slept)
    assert.are.equal(1, sent)
  end)
end)
