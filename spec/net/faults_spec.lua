-- The fault matrix: every fault the sandbox injects, through update and
-- through update_many, with the kind, the attempts and a time bound.
-- docs/reference.md's fault table is this file.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local clock = require("system").gettime

local GUID = "2ebc64a36a0d400d0123456789abcdef"

-- { fault, vendor, kind (nil = success), attempts, seconds at most,
--   how many requests it hits (default: all) }
-- With retries = 2, timeout = 0.5 s, max_retry_wait = 0.05 s.
local matrix = {
  { "429",              "questionpro", "rate_limited", 3, 3 },
  { "429-noretry",      "questionpro", "rate_limited", 3, 3 },
  { "500",              "questionpro", "http",         1, 2 },
  { "502",              "questionpro", "http",         3, 3 },
  { "503",              "questionpro", "http",         3, 3 },
  { "504",              "questionpro", "http",         3, 3 },
  { "408",              "questionpro", "http",         3, 3 },
  { "drop",             "questionpro", "transport",    3, 3 },
  { "drop-body",        "questionpro", "transport",    3, 3 },
  { "stall:secs=3",     "questionpro", "transport",    3, 4 },
  { "truncated",        "questionpro", "transport",    3, 3 },
  { "nonjson",          "questionpro", "decode",       1, 2 },
  { "oversized:mb=2",   "questionpro", "decode",       1, 3 },
  { "ff-error-200",     "formsonfire", "rejected",     1, 2 },
  { "bb-expired",       "blackbaud",   nil,            2, 3, 1 },
  { "bb-expired",       "blackbaud-token", "auth",     1, 2 },
  -- every vendor's error envelope inside a 200 is never a success; where
  -- the envelope names a status (QuestionPro httpStatusCode,
  -- SmarterMeasure Status) that status picks the kind and the retry
  { "error-200",              "questionpro",       "rejected",     1, 2 },
  { "error-200:status=404",   "questionpro",       "not_found",    1, 2 },
  { "error-200:status=503",   "questionpro",       "http",         3, 3 },
  { "error-200:status=429",   "questionpro",       "rate_limited", 3, 3 },
  { "error-200:status=200",   "questionpro",       "rejected",     1, 2 },
  { "error-200",              "smartermeasure",    "rejected",     1, 2 },
  { "error-200:status=401",   "smartermeasure",    "auth",         1, 2 },
  { "error-200:status=502",   "smartermeasure",    "http",         3, 3 },
  { "error-200",              "blackbaud-token",   "rejected",     1, 2 },
  { "error-200:status=503",   "blackbaud-token",   "rejected",     1, 2 },
  { "error-200",              "formsonfire",       "rejected",     1, 2 },
  { "error-200",              "thoughtindustries", "rejected",     1, 2 },
  -- other shapes of the envelope: a bare string, an empty object, the
  -- status alone
  { "error-200:form=1",            "questionpro",       "rejected",     1, 2 },
  { "error-200:form=2",            "questionpro",       "rejected",     1, 2 },
  { "error-200:form=3,status=503", "questionpro",       "http",         3, 3 },
  { "error-200:form=1",            "smartermeasure",    "rejected",     1, 2 },
  { "error-200:form=2",            "smartermeasure",    "rejected",     1, 2 },
  { "error-200:form=3,status=429", "smartermeasure",    "rate_limited", 3, 3 },
  { "error-200:form=1",            "blackbaud-token",   "rejected",     1, 2 },
  { "error-200:form=2",            "blackbaud-token",   "rejected",     1, 2 },
  { "error-200:form=1",            "thoughtindustries", "rejected",     1, 2 },
  { "error-200:form=2",            "thoughtindustries", "rejected",     1, 2 },
}

local function client(vendor)
  local o = { base_url = sandbox.url(), rate = 0, retries = 2, timeout = 0.5,
              retry_base = 0.01, max_retry_wait = 0.05,
              max_response = 1024 * 1024 }
  if vendor == "questionpro" then
    o.api_key = "fault-key"
  elseif vendor == "formsonfire" then
    o.company_id, o.integration_key = 7, "fault-key"
  elseif vendor == "blackbaud" then
    o.username, o.password = "fault-user", "fault-pass"
  elseif vendor == "smartermeasure" then
    o.username, o.password = "fault-user", "fault-pass"
  elseif vendor == "thoughtindustries" then
    o.api_key = "fault-key"
  else
    o.token = "fault-token"
    vendor = "blackbaud"
  end
  return userupd[vendor](o)
end

local function id_for(vendor, i)
  if vendor == "formsonfire" then return GUID:sub(1, 30) .. string.format("%02d", i) end
  if vendor == "thoughtindustries" then
    return ("2ebc64a3-6a0d-400d-0123-4567890abc%02d"):format(i)
  end
  return 1000 + i
end

-- Injects the row's fault.  An expired Blackbaud session is the sandbox
-- expiring the tokens it issued (not a count of PUTs, which a retry with
-- a fresh token could also hit).
local function inject(fault, vendor, count)
  if fault == "bb-expired" and vendor == "blackbaud" then
    sandbox.expire_bb_tokens()
  else
    sandbox.fault{ fault = fault, count = count, method = "PUT" }
  end
end

local function fields_for(vendor)
  if vendor == "questionpro" or vendor == "thoughtindustries" then
    return { firstName = "F" }
  end
  return { FirstName = "F" }
end

describe("fault matrix", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  for _, row in ipairs(matrix) do
    local fault, vendor, kind, attempts, limit = row[1], row[2], row[3],
                                                 row[4], row[5]
    local hits = row[6] or 100
    local label = fault .. " (" .. vendor .. ")"

    it("update: " .. label, function()
      local c = client(vendor)
      if vendor == "blackbaud" then assert.truthy(c:update(1001, {})) end
      inject(fault, vendor, hits)
      local t0 = clock()
      local user, err, info = c:update(id_for(vendor, 1), fields_for(vendor))
      local took = clock() - t0
      if kind then
        assert.is_nil(user)
        assert.are.equal(kind, err.kind, tostring(err))
      else
        assert.is_nil(err, tostring(err))
      end
      assert.are.equal(attempts, info.attempts)
      assert.is_true(took < limit, label .. " took " .. took)
    end)

    it("update_many: " .. label, function()
      local c = client(vendor)
      if vendor == "blackbaud" then assert.truthy(c:update(1001, {})) end
      inject(fault, vendor, hits * 4)
      local recs = {}
      for i = 1, 4 do recs[i] = { id_for(vendor, i), fields_for(vendor) } end
      local kinds, tries = {}, {}
      local t0 = clock()
      local s = c:update_many(recs, { concurrency = 4, progress = false,
        on_result = function(_, _, err, info)
          kinds[#kinds + 1] = err and err.kind or "ok"
          tries[#tries + 1] = info.attempts
        end })
      local took = clock() - t0
      assert.are.equal(4, #kinds)
      for i = 1, 4 do
        assert.are.equal(kind or "ok", kinds[i])
        if kind or fault ~= "bb-expired" then
          assert.are.equal(attempts, tries[i])
        end
      end
      assert.are.equal(kind and 0 or 4, s.ok)
      assert.is_true(took < limit + 1, label .. " took " .. took)
    end)
  end
end)

describe("an error envelope inside a 200", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("names the 200 in the message and keeps it in info.status", function()
    local c = client("questionpro")
    sandbox.fault{ fault = "error-200:status=404", method = "PUT" }
    local user, err, info = c:update(1001, { firstName = "F" })
    assert.is_nil(user)
    assert.are.equal("not_found", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal(200, info.status)
    assert.is_false(err.retryable)
    assert.matches("inside an HTTP 200 answer", err.message, 1, true)
  end)

  it("journals it as failed, never ok", function()
    local c = client("smartermeasure")
    sandbox.fault{ fault = "error-200", method = "PUT" }
    local path = os.tmpname()
    os.remove(path)
    local s = c:update_many({ { 1001, { FirstName = "F" } } },
                            { journal = path, progress = false })
    assert.are.equal(0, s.ok)
    assert.are.equal(1, s.failed)
    local j = assert(userupd.journal(path, "smartermeasure"))
    assert.are.equal("failed", j:get(1001).state)
    j:close()
    os.remove(path)
  end)
end)
