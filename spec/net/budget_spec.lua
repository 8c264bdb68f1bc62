-- Shared budgets (the shared_budget option) and the daily quota: real
-- processes sharing one budget file against the sandbox's exact token
-- bucket (config ti_rate / ti_burst), real fcntl locks held and killed,
-- and update_many stopping at the quota and resuming the next day.
-- (The lua_shared_dict and Redis stores: budget_ngx_spec, budget_redis_spec.)
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

local TMP = os.getenv("TMPDIR") or "/tmp"

local q = util.q

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local function tmpfile(tag)
  local path = ("%s/uu-budget-%s-%d-%d"):format(TMP, tag, os.time(),
                                                 math.random(1e9))
  os.remove(path)
  return path
end

local read = util.read_if

local function now()
  return tonumber(sh("date +%s.%N"))
end

local function ti(opts)
  opts.base_url = sandbox.url()
  opts.allow_http = true
  opts.api_key = opts.api_key or "ti-budget-key"
  return userupd.thoughtindustries(opts)
end

local UUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

-- The budget table of a run from the sandbox's bucket counters: requests
-- let through, 429s, and the share of the budget used (let through over
-- burst + rate x the time from the first to the last).
local function bucket_report(rate, burst)
  local b = sandbox.stats().ti_bucket
  local span = b.last - b.first
  return { ok = b.ok, limited = b.limited, span = span,
           used = b.ok / (burst + rate * span) }
end

-- n worker processes (spec/support/budget_worker.lua) at once; their
-- output lines.
local function run_workers(n, secs, rate, burst, kind, where)
  local cmds = {}
  for i = 1, n do
    cmds[#cmds + 1] = ("%s spec/support/budget_worker.lua %s %d %g %g %s %s w%d &")
      :format(q(util.lua()), q(sandbox.url()), secs, rate, burst, kind,
              q(where), i)
  end
  return sh("cd " .. q(util.root) .. " && (" .. table.concat(cmds, " ") ..
            " wait) 2>&1")
end

describe("shared_budget", function()
  setup(function()
    assert(sandbox.start())
  end)
  after_each(function()
    sandbox.reset()
  end)

  it("is a file path or a store; bad values are refused by name", function()
    local ok, err = pcall(ti, { shared_budget = 42 })
    assert.is_false(ok)
    assert.matches("shared_budget", tostring(err))
    ok, err = pcall(ti, { shared_budget = "" })
    assert.is_false(ok)
    assert.matches("shared_budget", tostring(err))
    ok, err = pcall(ti, { shared_budget = TMP .. "/no/such/dir/budget" })
    assert.is_false(ok)
    assert.matches("cannot open", tostring(err))
    ok, err = pcall(ti, { shared_budget = { take = function() return 0 end } })
    assert.is_false(ok)
    assert.matches("take and spend", tostring(err))
    ok, err = pcall(ti, { daily_quota = -1 })
    assert.is_false(ok)
    assert.matches("daily_quota", tostring(err))
  end)

  it("refuses a file that is not a budget file, naming it", function()
    local path = tmpfile("notbudget")
    local f = assert(io.open(path, "wb"))
    f:write(("not a budget\n"):rep(10))
    f:close()
    local c = ti{ shared_budget = path, rate = 5 }
    local ok, err = pcall(c.update, c, UUID, { firstName = "A" })
    assert.is_false(ok)
    assert.matches("not a userupd budget file", tostring(err))
    assert.matches(path, tostring(err), 1, true)
    c:close()
    os.remove(path)
  end)

  it("keys the file by SHA-256 of vendor and credential, never the secret",
     function()
    local secret = "ti-Secret-Budget-Key-93"
    local path = tmpfile("key")
    local c = ti{ shared_budget = path, rate = 5, api_key = secret }
    assert.truthy(c:update(UUID, { firstName = "A" }))
    c:close()
    local data = assert(read(path))
    assert.is_nil(data:find(secret, 1, true))
    local want = sh("printf 'userupd shared budget key 1\\0thoughtindustries" ..
                    "\\0api_key\\0" .. secret .. "\\0' | sha256sum"):sub(1, 32)
    assert.equals(32, #want)
    assert.truthy(data:find(want, 1, true))
    -- another key: another record; the same key again: the same record
    c = ti{ shared_budget = path, rate = 5, api_key = secret .. "x" }
    assert.truthy(c:update(UUID, { firstName = "B" }))
    c = ti{ shared_budget = path, rate = 5, api_key = secret }
    assert.truthy(c:update(UUID, { firstName = "C" }))
    assert.equals(64 * 3, #read(path))          -- header + two records
    os.remove(path)
  end)

  it("paces two clients naming one file as one bucket", function()
    local path = tmpfile("two")
    local a = ti{ shared_budget = path, rate = 10, burst = 1 }
    local b = ti{ shared_budget = path, rate = 10, burst = 1 }
    local t0 = now()
    for i = 1, 5 do
      assert.truthy(a:update(UUID, { firstName = "A" .. i }))
      assert.truthy(b:update(UUID, { firstName = "B" .. i }))
    end
    -- 10 requests at 10/s from a bucket of 1: at least 0.9 s (+ the
    -- start margin); each client alone would have been 0.4 s
    local el = now() - t0
    assert.is_true(el >= 0.9, "elapsed " .. el)
    assert.is_true(el < 3, "elapsed " .. el)
    os.remove(path)
  end)

  it("takes a token for each retry of update_many as well", function()
    local path = tmpfile("retry")
    sandbox.fault{ fault = "502", count = 1, vendor = "thoughtindustries" }
    local c = ti{ shared_budget = path, rate = 2, burst = 1, retries = 2,
                  retry_base = 0.01 }
    local t0 = now()
    local s = c:update_many({ { UUID, { firstName = "R1" } },
                              { UUID, { firstName = "R2" } } },
                            { concurrency = 1, progress = false })
    local el = now() - t0
    assert.equals(2, s.ok)
    assert.equals(3, sandbox.stats().requests)
    -- three calls at 2/s from a bucket of 1: two waits of 0.5 s at least
    -- (the backoff alone would be 0.01 s)
    assert.is_true(el >= 0.95, "elapsed " .. el)
    assert.is_true(el < 3, "elapsed " .. el)
    os.remove(path)
  end)

  it("three processes sharing one file: 0 429s, >= 95% of the budget",
     function()
    local path = tmpfile("three")
    sandbox.config{ ti_rate = 5, ti_burst = 5 }
    local out = run_workers(3, 6, 5, 5, "file", path)
    local n = 0
    for ok, failed, limited in out:gmatch("ok=(%d+) failed=(%d+) limited=(%d+)") do
      n = n + 1
      assert.equals("0", limited, out)
      assert.equals("0", failed, out)
      assert.is_true(tonumber(ok) > 0, out)
    end
    assert.equals(3, n, out)
    local r = bucket_report(5, 5)
    print(("# file, 3 processes: %d sent, %d 429s, %.1f%% of the budget " ..
           "over %.2f s"):format(r.ok, r.limited, 100 * r.used, r.span))
    assert.equals(0, r.limited)
    assert.is_true(r.used >= 0.95, "used " .. r.used)
    assert.is_true(r.used <= 1.0, "used " .. r.used)
    os.remove(path)
  end)

  describe("a lock holder", function()
    -- python3 holds a POSIX lock on the file (it conflicts with ours)
    local function hold(path)
      local ready = path .. ".ready"
      local pid = sh(("python3 -c %s %s %s >/dev/null 2>&1 & echo $!"):format(q(
        "import fcntl,sys,time\n" ..
        "f=open(sys.argv[1],'r+b')\n" ..
        "fcntl.lockf(f,fcntl.LOCK_EX)\n" ..
        "open(sys.argv[2],'w').close()\n" ..
        "time.sleep(30)\n"), q(path), q(ready)))
      pid = assert(tonumber(pid:match("%d+")))
      for _ = 1, 100 do
        if read(ready) then break end
        os.execute("sleep 0.05")
      end
      assert.truthy(read(ready), "the holder never took the lock")
      os.remove(ready)
      return pid
    end

    it("that crashed does not wedge the others", function()
      local path = tmpfile("crash")
      local c = ti{ shared_budget = path, rate = 100 }
      assert.truthy(c:update(UUID, { firstName = "A" }))   -- makes the file
      local pid = hold(path)
      os.execute("kill -9 " .. pid)
      os.execute("sleep 0.1")
      local t0 = now()
      assert.truthy(c:update(UUID, { firstName = "B" }))
      assert.is_true(now() - t0 < 1)
      os.remove(path)
    end)

    it("that hangs makes a take fail after 2 s, with a clear message",
       function()
      local path = tmpfile("hang")
      local c = ti{ shared_budget = path, rate = 100 }
      assert.truthy(c:update(UUID, { firstName = "A" }))
      local pid = hold(path)
      local t0 = now()
      local ok, err = pcall(c.update, c, UUID, { firstName = "B" })
      local el = now() - t0
      os.execute("kill -9 " .. pid)
      assert.is_false(ok)
      assert.matches("still locked after 2 s", tostring(err))
      assert.is_true(el >= 1.9 and el < 4, "elapsed " .. el)
      assert.truthy(c:update(UUID, { firstName = "C" }))  -- and after: fine
      os.remove(path)
    end)
  end)
end)

describe("daily_quota", function()
  local GUIDS = {}
  for i = 1, 12 do GUIDS[i] = ("%032x"):format(0xab0000 + i) end

  local function ff(opts)
    opts.base_url = sandbox.url()
    opts.allow_http = true
    opts.company_id = opts.company_id or 4242
    opts.integration_key = opts.integration_key or "ff-quota-key"
    return userupd.formsonfire(opts)
  end

  local function records(n)
    local t = {}
    for i = 1, n do t[i] = { GUIDS[i], { FirstName = "Q" .. i } } end
    return t
  end

  local function puts()
    local p, total = sandbox.puts("formsonfire"), 0
    for _, n in pairs(p) do total = total + n end
    return p, total
  end

  setup(function()
    assert(sandbox.start())
  end)
  before_each(function()
    sandbox.reset()
  end)

  it("stops update_many cleanly and resumes the next day", function()
    local db = tmpfile("quota.db")
    local c = ff{ daily_quota = 5 }
    local seen = 0
    local s = c:update_many(records(12), { journal = db, progress = false,
      concurrency = 3, on_result = function() seen = seen + 1 end })
    assert.equals(5, s.ok)
    assert.equals(0, s.failed)
    assert.equals(7, s.pending)
    assert.equals(5, seen)
    assert.equals("daily_quota", s.stopped)
    assert.equals("daily quota reached: 5 sent today, 7 left; run again " ..
                  "after 00:00 UTC", s.message)
    local _, total = puts()
    assert.equals(5, total)
    -- the rest is pending, not failed
    local j = assert(userupd.journal(db))
    local failures = #j:failures()
    assert.equals(0, failures)
    j:close()

    -- the same day, another client: nothing is sent
    c = ff{ daily_quota = 5 }
    s = c:update_many(records(12), { journal = db, progress = false })
    assert.equals(0, s.ok)
    assert.equals(5, s.unchanged)
    assert.equals("daily_quota", s.stopped)
    assert.equals("daily quota reached: 5 sent today, 7 left; run again " ..
                  "after 00:00 UTC", s.message)
    _, total = puts()
    assert.equals(5, total)

    -- the next day (the journal's count moved to yesterday): the rest
    sh("sqlite3 " .. q(db) .. " 'UPDATE quota SET day = day - 1'")
    s = c:update_many(records(12), { journal = db, progress = false })
    assert.equals(5, s.ok)
    assert.equals(5, s.unchanged)
    assert.equals(2, s.pending)
    _, total = puts()
    assert.equals(10, total)
    sh("sqlite3 " .. q(db) .. " 'UPDATE quota SET day = day - 1'")
    s = c:update_many(records(12), { journal = db, progress = false })
    assert.equals(2, s.ok)
    assert.equals(10, s.unchanged)
    assert.is_nil(s.stopped)
    local p
    p, total = puts()
    assert.equals(12, total)
    for i = 1, 12 do assert.equals(1, p[GUIDS[i]], GUIDS[i]) end
    os.remove(db)
  end)

  it("is 2,500 a day for Forms On Fire by default", function()
    local db = tmpfile("quota2500.db")
    local c = ff{}
    local s = c:update_many(records(1), { journal = db, progress = false })
    assert.equals(1, s.ok)
    sh("sqlite3 " .. q(db) .. " 'UPDATE quota SET sent = 2498'")
    local rest = records(5)
    table.remove(rest, 1)
    s = c:update_many(rest, { journal = db, progress = false })
    assert.equals(2, s.ok)
    assert.equals(2500, s.daily_quota)
    assert.equals(2500, s.sent_today)
    assert.equals("daily quota reached: 2500 sent today, 2 left; run again " ..
                  "after 00:00 UTC", s.message)
    os.remove(db)
  end)

  it("has no default for vendors that document none", function()
    local c = ti{ rate = 0 }
    local recs = {}
    for i = 1, 30 do
      recs[i] = { ("%08x-0000-4000-8000-000000000000"):format(i),
                  { firstName = "N" } }
    end
    local s = c:update_many(recs, { progress = false })
    assert.equals(30, s.ok)
    assert.is_nil(s.stopped)
  end)

  it("without a journal, counts per client", function()
    local c = ff{ daily_quota = 3 }
    local s = c:update_many(records(2), { progress = false })
    assert.equals(2, s.ok)
    s = c:update_many(records(4), { progress = false })
    assert.equals(1, s.ok)
    assert.equals(3, s.pending)
    assert.matches("^daily quota reached: 3 sent today, 3 left", s.message)
  end)

  it("refuses update and get past the quota, unsent, as rate_limited",
     function()
    local c = ff{ daily_quota = 3 }
    assert.truthy(c:update(GUIDS[1], { FirstName = "S1" }))
    assert.truthy(c:get(GUIDS[1]))
    assert.truthy(c:update(GUIDS[2], { FirstName = "S2" }))
    local user, err, info = c:update(GUIDS[3], { FirstName = "S3" })
    assert.is_nil(user)
    assert.equals("rate_limited", err.kind)
    assert.equals("daily quota reached: 3 sent today; run again after " ..
                  "00:00 UTC", err.message)
    assert.is_false(err.retryable)
    assert.equals(0, info.attempts)
    user, err = c:get(GUIDS[1])
    assert.is_nil(user)
    assert.equals("rate_limited", err.kind)
    local _, total = puts()
    assert.equals(2, total)
    assert.equals(3, sandbox.stats().requests)
  end)

  it("the command line says so and leaves the rest for the next run",
     function()
    local dir = tmpfile("cli")
    sh("mkdir -p " .. q(dir))
    local csv, map = dir .. "/in.csv", dir .. "/map.lua"
    local f = assert(io.open(csv, "wb"))
    f:write("id,first\n")
    for i = 1, 5 do f:write(GUIDS[i], ",C", i, "\n") end
    f:close()
    f = assert(io.open(map, "wb"))
    f:write("return function(row) return row.id, { FirstName = row.first } end\n")
    f:close()
    local cmd = ("cd %s && USERUPD_FORMSONFIRE_COMPANY_ID=4242 " ..
      "USERUPD_FORMSONFIRE_INTEGRATION_KEY=ff-cli-key " ..
      "USERUPD_FORMSONFIRE_DAILY_QUOTA=2 %s bin/userupd apply formsonfire " ..
      "--input %s --map %s --base-url %s --journal %s --no-progress " ..
      "2>&1; echo rc=$?"):format(q(util.root), q(util.lua()), q(csv), q(map),
      q(sandbox.url()), q(dir .. "/j.db"))
    local out = sh(cmd)
    -- the command streams its input: it does not know how many are left
    assert.matches("stopped: daily quota reached: 2 sent today, more left; " ..
                   "run again after 00:00 UTC", out, 1, true)
    assert.matches("left 3 for the next run", out, 1, true)
    assert.matches("rc=75", out, 1, true)      -- resumable (EX_TEMPFAIL)
    local _, total = puts()
    assert.equals(2, total)
    sh("rm -rf " .. q(dir))
  end)

  it("with a shared budget file, counts across clients and processes",
     function()
    local path = tmpfile("quotafile")
    local script = ([[
      local userupd = require "userupd"
      local c = userupd.formsonfire{ base_url = %q, allow_http = true,
        company_id = 4242, integration_key = "ff-quota-key",
        daily_quota = 6, shared_budget = %q }
      local t = {}
      for i = 1, 4 do t[i] = { ("%%032x"):format(0xcd0000 + i + %d),
                               { FirstName = "P" } } end
      local s = c:update_many(t, { progress = false })
      print(s.ok, s.message)
    ]])
    local out = {}
    for k = 1, 2 do
      out[k] = sh(("cd %s && %s -e %s"):format(q(util.root), q(util.lua()),
                  q(script:format(sandbox.url(), path, k * 100))))
    end
    assert.matches("^4\tnil", out[1])
    assert.matches("^2\tdaily quota reached: 6 sent today, 2 left", out[2])
    local _, total = puts()
    assert.equals(6, total)
    os.remove(path)
  end)
end)
