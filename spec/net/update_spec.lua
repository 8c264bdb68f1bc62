-- update() against the local sandbox: answers, error kinds, retries,
-- pacing, re-login, TLS.  Timing bounds are generous: the machine is shared.
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local UUID = "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"
local GUID = "2ebc64a36a0d400d0123456789abcdef"

local clock = require("system").gettime

local function opts(t)
  t.base_url = t.base_url or sandbox.url()
  t.retry_base = t.retry_base or 0.01
  t.rate = t.rate or 0
  return t
end

local function clients()
  return {
    smartermeasure = userupd.smartermeasure(opts{ username = "acct",
                                                  password = "pw-SM" }),
    thoughtindustries = userupd.thoughtindustries(opts{ api_key = "key-TI" }),
    blackbaud = userupd.blackbaud(opts{ token = "static-BB" }),
    formsonfire = userupd.formsonfire(opts{ company_id = 4242,
                                            integration_key = "key-FF" }),
    questionpro = userupd.questionpro(opts{ api_key = "key-QP" }),
  }
end

-- One valid record per vendor, with the field that comes back.
local records = {
  smartermeasure = { 10000001, { FirstName = "Alice", Gender = "F" },
                     "FirstName" },
  thoughtindustries = { UUID, { firstName = "Alice", ref1 = "S-1" },
                        "firstName" },
  blackbaud = { 1574489, { FirstName = "Alice", NickName = "" },
                "FirstName" },
  formsonfire = { GUID, { FirstName = "Alice", Type = "Standard" },
                  "FirstName" },
  questionpro = { 1234599, { firstName = "Alice", departmentID = 7 },
                  "firstName" },
}

describe("update against the sandbox", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  for vendor, rec in pairs(records) do
    it(vendor .. ": returns the user without its envelope", function()
      local c = clients()[vendor]
      local user, err, info = c:update(rec[1], rec[2])
      assert.is_nil(err, tostring(err))
      assert.are.equal("Alice", user[rec[3]])
      assert.are.equal(200, info.status)
      assert.are.equal(1, info.attempts)
      assert.is_true(info.elapsed >= 0 and info.elapsed < 5)
      assert.is_string(info.request_id)
      -- the bytes on the wire were prepare's bytes
      local req = c:prepare(rec[1], rec[2])
      local last = sandbox.last(vendor)
      assert.are.equal(req.body, last.body)
      assert.are.equal("PUT", last.method)
      assert.are.equal(req.url:match("^https?://[^/]+(.*)$"), last.uri)
      -- the sandbox kept it: the vendor's read call sees the change
      local got, gerr = c:get(rec[1])
      assert.is_nil(gerr, tostring(gerr))
      assert.are.equal("Alice", got[rec[3]])
    end)
  end

  it("keeps integers integers in answers", function()
    local user = clients().questionpro:update(1234599, { departmentID = 7 })
    assert.are.equal(7, user.departmentID)
    if math.type then assert.are.equal("integer", math.type(user.userID)) end
  end)

  it("maps the vendors' error bodies", function()
    local cs = clients()
    local cases = {
      { cs.questionpro, 1234599, { firstName = 5 }, nil },    -- invalid
      { cs.questionpro, 999999999, {}, "not_found", "1040" },
      { cs.smartermeasure, 999999999, {}, "not_found", "ResourceNotFound" },
      { cs.thoughtindustries, "ffffffff-0000-4000-8000-000000000000", {},
        "not_found" },
      { cs.blackbaud, 999999999, {}, "not_found" },
    }
    for _, case in ipairs(cases) do
      local user, err = case[1]:update(case[2], case[3])
      assert.is_nil(user)
      assert.are.equal(case[4] or "invalid", err.kind)
      if case[5] then assert.are.equal(case[5], err.vendor_code) end
      assert.is_string(err.message)
    end
  end)

  it("reports a bad login as auth, SmarterMeasure's 403 included", function()
    local bad = {
      userupd.smartermeasure(opts{ username = "u", password = "bad-pw" }),
      userupd.thoughtindustries(opts{ api_key = "bad-key" }),
      userupd.questionpro(opts{ api_key = "bad-key" }),
      userupd.blackbaud(opts{ token = "bad-token" }),
      userupd.formsonfire(opts{ company_id = 1, integration_key = "bad-k" }),
    }
    local ids = { 1, UUID, 1, 1, GUID }
    for i, c in ipairs(bad) do
      local user, err, info = c:update(ids[i], {})
      assert.is_nil(user)
      assert.are.equal("auth", err.kind, c:vendor() .. ": " .. tostring(err))
      assert.are.equal(1, info.attempts)
      assert.is_nil(tostring(err):find("bad-", 1, true))
    end
  end)

  it("treats a Forms On Fire error inside a 200 as rejected", function()
    sandbox.fault{ fault = "ff-error-200", count = 1 }
    local user, err, info = clients().formsonfire:update(GUID, {})
    assert.is_nil(user)
    assert.are.equal("rejected", err.kind)
    assert.are.equal(200, info.status)
    assert.is_string(err.vendor_code)
  end)

  it("retries 429, 502, 503, 504, 408 and drops, then succeeds", function()
    for _, f in ipairs({ "429", "502", "503", "504", "408", "drop" }) do
      sandbox.reset()
      sandbox.fault{ fault = f, count = 2 }
      local c = userupd.questionpro(opts{ api_key = "k",
                                          max_retry_wait = 0.05 })
      local user, err, info = c:update(1234599, { firstName = "R" })
      assert.is_nil(err, f .. ": " .. tostring(err))
      assert.are.equal("R", user.firstName)
      assert.are.equal(3, info.attempts, f)
    end
  end)

  it("gives up after retries with the last kind", function()
    local expect = { ["429"] = "rate_limited", ["503"] = "http",
                     drop = "transport" }
    for f, kind in pairs(expect) do
      sandbox.reset()
      sandbox.fault{ fault = f, count = 10 }
      local c = userupd.questionpro(opts{ api_key = "k", retries = 2,
                                          max_retry_wait = 0.05 })
      local user, err, info = c:update(1234599, {})
      assert.is_nil(user)
      assert.are.equal(kind, err.kind, f)
      assert.is_true(err.retryable)
      assert.are.equal(3, info.attempts, f)
    end
  end)

  it("never retries other 4xx", function()
    local c = clients().questionpro
    local _, err, info = c:update(999999999, {})
    assert.are.equal("not_found", err.kind)
    assert.are.equal(1, info.attempts)
    assert.is_false(err.retryable)
  end)

  it("waits as long as Retry-After says", function()
    sandbox.fault{ fault = "429:retry_after=1", count = 1 }
    local c = userupd.questionpro(opts{ api_key = "k" })
    local t0 = clock()
    local user, err, info = c:update(1234599, {})
    local took = clock() - t0
    assert.is_nil(err, tostring(err))
    assert.are.equal(2, info.attempts)
    assert.is_true(took >= 0.95 and took < 4, "took " .. took)
    assert.truthy(user)
  end)

  it("caps the wait at max_retry_wait", function()
    sandbox.fault{ fault = "429:retry_after=30", count = 1 }
    local c = userupd.questionpro(opts{ api_key = "k", max_retry_wait = 0.2 })
    local t0 = clock()
    local _, err = c:update(1234599, {})
    assert.is_nil(err)
    assert.is_true(clock() - t0 < 3)
  end)

  it("hands waits to a sleep function when given one", function()
    local slept = {}
    sandbox.fault{ fault = "503", count = 1 }
    local c = userupd.questionpro(opts{ api_key = "k", retry_base = 0.2,
      sleep = function(s) slept[#slept + 1] = s end })
    local _, err, info = c:update(1234599, {})
    assert.is_nil(err)
    assert.are.equal(2, info.attempts)
    assert.are.equal(1, #slept)
    -- the sandbox's Retry-After: 1, plus up to retry_base of jitter
    assert.is_true(slept[1] >= 1 and slept[1] <= 1.2, tostring(slept[1]))
  end)

  it("paces to the rate", function()
    local c = userupd.questionpro(opts{ api_key = "k", rate = 20 })
    local t0 = clock()
    for i = 1, 11 do assert.truthy(c:update(i, {})) end
    local took = clock() - t0
    -- 10 intervals of 50 ms after the first token
    assert.is_true(took >= 0.45 and took < 3, "took " .. took)
  end)

  it("paces Thought Industries to its default 60 writes a minute", function()
    local c = userupd.thoughtindustries{ api_key = "k",
                                         base_url = sandbox.url() }
    local t0 = clock()
    for _ = 1, 3 do assert.truthy(c:update(UUID, {})) end
    assert.is_true(clock() - t0 >= 1.9)
  end)

  it("pauses on X-RateLimit-Remaining 0 until the reset: no 429s", function()
    sandbox.config{ ti_limit = 5, ti_window = 1 }
    local c = userupd.thoughtindustries{ api_key = "k", rate = 0,
                                         base_url = sandbox.url() }
    local t0 = clock()
    for _ = 1, 12 do
      local user, err, info = c:update(UUID, {})
      assert.is_nil(err, tostring(err))
      assert.are.equal(1, info.attempts)
      assert.truthy(user)
    end
    local took = clock() - t0
    assert.is_nil(sandbox.stats().by_status["429"])
    -- 12 requests at 5 per 1 s window need two waits, not much more
    assert.is_true(took >= 1 and took < 3.5, "took " .. took)
    sandbox.config{ ti_limit = 0 }
  end)

  it("times out a stalled answer and reports transport", function()
    sandbox.fault{ fault = "stall:secs=3", count = 5 }
    local c = userupd.questionpro(opts{ api_key = "k", timeout = 0.5,
                                        retries = 0 })
    local t0 = clock()
    local _, err = c:update(1234599, {})
    assert.are.equal("transport", err.kind)
    assert.is_true(clock() - t0 < 2)
  end)

  it("reports a non-JSON or truncated 200 as decode / transport", function()
    sandbox.fault{ fault = "nonjson", count = 1 }
    local c = userupd.questionpro(opts{ api_key = "k", retries = 0 })
    local _, err = c:update(1234599, {})
    assert.are.equal("decode", err.kind)
    sandbox.fault{ fault = "truncated", count = 1 }
    _, err = c:update(1234599, {})
    assert.are.equal("transport", err.kind)
  end)

  it("caps the answer size", function()
    sandbox.fault{ fault = "oversized:mb=2", count = 1 }
    local c = userupd.questionpro(opts{ api_key = "k", retries = 0,
                                        max_response = 1024 * 1024 })
    local _, err = c:update(1234599, {})
    assert.are.equal("decode", err.kind)
    assert.matches("max_response", err.message, 1, true)
  end)

  it("logs in to Blackbaud, and again when the token expires", function()
    local c = userupd.blackbaud(opts{ username = "api-key-1",
                                      password = "api-secret-1" })
    local user, err, info = c:update(1574489, { NickName = "A" })
    assert.is_nil(err, tostring(err))
    assert.are.equal("A", user.NickName)
    assert.are.equal(1, info.attempts)
    assert.are.equal(1, sandbox.stats().logins)
    sandbox.expire_bb_tokens()
    user, err, info = c:update(1574489, { NickName = "B" })
    assert.is_nil(err, tostring(err))
    assert.are.equal("B", user.NickName)
    assert.are.equal(2, info.attempts)
    assert.are.equal(2, sandbox.stats().logins)
  end)

  it("reports a refused Blackbaud login as auth, without the secret",
     function()
    local c = userupd.blackbaud(opts{ username = "bad-user",
                                      password = "the-Secret" })
    local user, err = c:update(1574489, {})
    assert.is_nil(user)
    assert.are.equal("auth", err.kind)
    assert.is_nil(tostring(err):find("the-Secret", 1, true))
  end)

  it("refuses an unknown CA, and accepts it with ca_file", function()
    local c = userupd.questionpro{ api_key = "k", base_url = sandbox.tls_url(),
                                   retries = 0 }
    local _, err = c:update(1234599, {})
    assert.are.equal("transport", err.kind)
    assert.is_false(err.retryable)
    local ok = userupd.questionpro{ api_key = "k", base_url = sandbox.tls_url(),
                                    ca_file = sandbox.ca() }
    local user, err2 = ok:update(1234599, { firstName = "TLS" })
    assert.is_nil(err2, tostring(err2))
    assert.are.equal("TLS", user.firstName)
  end)

  it("reports a refused connection as transport", function()
    local c = userupd.questionpro{ api_key = "k", retries = 1,
      retry_base = 0.01, base_url = "http://127.0.0.1:9" }
    local _, err, info = c:update(1, {})
    assert.are.equal("transport", err.kind)
    assert.are.equal(2, info.attempts)
  end)

  it("sends the QuestionPro key as a header when asked", function()
    local c = userupd.questionpro(opts{ api_key = "hdr-key",
                                        key_in = "header" })
    assert.truthy(c:update(1234599, {}))
    local last = sandbox.last("questionpro")
    assert.are.equal("hdr-key", last.headers["api-key"])
    assert.is_nil(last.uri:find("apiKey", 1, true))
  end)
end)
