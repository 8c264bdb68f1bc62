-- The retry and pacing policy (src/policy/policy.c) on plain numbers: built with
-- nothing but policy.c and a small driver (spec/fixtures/policy_driver.c),
-- so this also proves the policy needs no Lua and no libcurl.
local util = require "support.util"

local exe = os.tmpname()

-- Runs the driver on the given command lines; its answer lines.
local function drive(lines)
  local input = os.tmpname()
  local f = assert(io.open(input, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  local p = assert(io.popen(exe .. " < " .. input))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  os.remove(input)
  return out
end

local function near(want, got, what)
  assert(math.abs(want - tonumber(got)) < 1e-6,
         (what or "") .. ": wanted " .. want .. ", got " .. got)
end

describe("policy", function()
  setup(function()
    local cmd = "cc -std=c99 -Wall -Wextra -Werror -I" .. util.root ..
      "/src -o " .. exe .. " " .. util.spec_dir .. "/fixtures/policy_driver.c "
      .. util.root .. "/src/policy/policy.c -lm"
    local ok = os.execute(cmd)
    assert.is_true(ok == true or ok == 0, "cannot build: " .. cmd)
  end)

  teardown(function() os.remove(exe) end)

  it("paces with a token bucket: burst at once, then 1/rate apart", function()
    local out = drive{ "init 3 0.5 60 2 2 100 1", "pace 100", "pace 100",
                       "pace 100", "pace 100", "pace 101.5", "pace 200" }
    near(0, out[2], "first of the burst")
    near(0, out[3], "second of the burst")
    near(0.5, out[4], "third waits one token")
    near(1.0, out[5], "fourth two")
    -- 1.5 s later 3 tokens came back: -2 + 3 = 1, one taken: no wait
    near(0, out[6], "refilled")
    near(0, out[7], "a long gap refills only up to burst")
  end)

  it("does not pace at rate 0, but honours a pause", function()
    local out = drive{ "init 3 0.5 60 0 1 0 1", "pace 5", "pace 5",
                       "note 429 7 -1 -1 10", "pace 12" }
    near(0, out[2])
    near(0, out[3])
    near(17, out[4], "pause until 10 + 7")
    near(5, out[5], "paused for the rest")
  end)

  it("reads Retry-After as seconds or an HTTP date; nonsense is none",
     function()
    local out = drive{
      "retry_after 1000 12", "retry_after 1000 0.25", "retry_after 1000 -3",
      "retry_after 1000 nan", "retry_after 1000 inf", "retry_after 1000 1e12",
      "retry_after 1000 soon",
      "retry_after 1000.9 Thu, 01 Jan 1970 00:20:00 GMT",
      "retry_after 5000 Thu, 01 Jan 1970 00:20:00 GMT",
      "retry_after 1000 1e308",
      "retry_after 1000 Fri, 31 Dec 9999 23:59:59 GMT" }
    near(12, out[1]); near(0.25, out[2]); near(0, out[3], "negative is now")
    near(-1, out[4], "nan"); near(-1, out[7], "text")
    -- beyond any sane wait is a long wait (capped at max_retry_wait by
    -- backoff and note), never none (issue 12)
    near(1e9, out[5], "inf"); near(1e9, out[6], "1e12")
    near(1e9, out[10], "1e308"); near(1e9, out[11], "the year 9999")
    near(200, out[8], "a date against whole seconds")
    near(0, out[9], "a date in the past is now")
  end)

  it("reads X-RateLimit: Reset-After wins over Reset", function()
    local out = drive{ "limits 1000.25 - 0 1010 -", "limits 1000 - 5 1010 3",
                       "limits 1000 - - - -", "limits 1000 30 - - -" }
    assert.are.equal("-1.000000 0 9.750000", out[1])
    assert.are.equal("-1.000000 5 3.000000", out[2])
    assert.are.equal("-1.000000 -1 -1.000000", out[3])
    assert.are.equal("30.000000 -1 -1.000000", out[4])
  end)

  it("pauses the client when the vendor says its budget is spent", function()
    local out = drive{ "init 3 0.5 60 0 1 0 1",
      "note 200 -1 3 10 100",     -- budget left: no pause
      "note 200 -1 0 10 100",     -- spent: until the reset
      "note 200 -1 0 500 100",    -- capped by max_retry_wait
      "note 429 5 -1 -1 100" }    -- an earlier end never shortens it
    near(0, out[2]); near(110, out[3]); near(160, out[4]); near(160, out[5])
  end)

  it("decides: relogin once on a 401, retry while allowed, then done", function()
    local out = drive{ "init 2 0.5 60 0 1 0 42",
      "decide 401 0 1 0 1 -1 0", "decide 401 0 1 1 2 -1 0",
      "decide 401 0 0 0 1 -1 0", "decide 503 1 0 0 1 -1 0",
      "decide 503 1 0 0 2 -1 0", "decide 503 1 0 0 3 -1 0",
      "decide 429 1 0 0 1 30 0", "decide 429 1 0 0 1 600 0",
      "decide 400 0 0 0 1 -1 0" }
    assert.are.equal("relogin 0.000000 1", out[2])
    assert.are.equal("done 0.000000 1", out[3], "only once per record")
    assert.are.equal("done 0.000000 0", out[4], "no login to renew")
    local verdict, wait = out[5]:match("^(%a+) (%S+)")
    assert.are.equal("retry", verdict)
    assert.is_true(tonumber(wait) >= 0 and tonumber(wait) < 0.5, out[5])
    verdict, wait = out[6]:match("^(%a+) (%S+)")
    assert.is_true(verdict == "retry" and tonumber(wait) < 1.0, out[6])
    assert.are.equal("done 0.000000 0", out[7], "retries spent")
    wait = tonumber(out[8]:match("^retry (%S+)"))
    assert.is_true(wait >= 30 and wait < 30.5, out[8])
    wait = tonumber(out[9]:match("^retry (%S+)"))
    assert.is_true(wait >= 60 and wait < 60.5, "capped: " .. out[9])
    assert.are.equal("done 0.000000 0", out[10])
  end)

  it("jitters backoff within its cap, the same for the same seed", function()
    local lines = { "init 3 0.5 4 0 1 0 99" }
    for i = 1, 200 do lines[#lines + 1] = "backoff " .. (i % 6 + 1) .. " -1" end
    local a, b = drive(lines), drive(lines)
    local distinct = {}
    for i = 2, #a do
      local attempt = (i - 1) % 6 + 1
      local cap = math.min(0.5 * 2 ^ (attempt - 1), 4)
      local w = tonumber(a[i])
      assert.is_true(w >= 0 and w < cap, "attempt " .. attempt .. ": " .. w)
      assert.are.equal(a[i], b[i])
      distinct[a[i]] = true
    end
    local n = 0
    for _ in pairs(distinct) do n = n + 1 end
    assert.is_true(n > 150, "jitter spreads: " .. n .. " distinct of 200")
  end)
end)
