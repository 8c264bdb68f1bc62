-- userupd.budget.redis: a real redis-server on 127.0.0.1 (started here,
-- stopped by its PID), two processes sharing one Thought Industries budget
-- through it against the sandbox's exact token bucket, the keys (a hash,
-- never the secret), the daily quota in Redis, and a Redis that is gone.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

-- Debian's lua-redis installs redis.lua for 5.1-5.3; it runs on 5.4 too.
local EXTRA_PATH = "/usr/share/lua/5.3/?.lua"
if _VERSION == "Lua 5.4" then
  package.path = package.path .. ";" .. EXTRA_PATH
end
local redis = require "redis"
local rstore = require "userupd.budget.redis"

local PORT = tonumber(os.getenv("USERUPD_BUDGET_REDIS_PORT") or
                      (tonumber(os.getenv("USERUPD_OPENRESTY_PORT") or
                                "18090") + 101))
local DIR = ("%s/build/budget-redis-spec"):format(sandbox.root)
local PIDFILE = DIR .. "/redis.pid"

local q = util.q

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local read = util.read_if

local alive = util.alive

local function stop_redis()
  local pid = tonumber(read(PIDFILE) or "")
  if not pid or not alive(pid) then return end
  if (read("/proc/" .. pid .. "/comm") or ""):gsub("%s+$", "") ~= "redis-server" then
    return
  end
  os.execute("kill " .. pid)
  for _ = 1, 50 do
    if not alive(pid) then return end
    os.execute("sleep 0.1")
  end
  os.execute("kill -9 " .. pid)
end

local function start_redis()
  stop_redis()                                     -- a leftover
  sh("rm -rf " .. q(DIR) .. " && mkdir -p " .. q(DIR))
  local out = sh(("redis-server --port %d --bind 127.0.0.1 --save '' " ..
                  "--appendonly no --daemonize yes --pidfile %s " ..
                  "--logfile %s --dir %s 2>&1"):format(PORT, q(PIDFILE),
                  q(DIR .. "/redis.log"), q(DIR)))
  for _ = 1, 50 do
    local ok, c = pcall(redis.connect, "127.0.0.1", PORT)
    if ok and read(PIDFILE) then return c end
    os.execute("sleep 0.1")
  end
  error("redis-server did not start on port " .. PORT .. ": " .. out ..
        (read(DIR .. "/redis.log") or ""))
end

local UUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

local function ti(opts)
  opts.base_url = sandbox.url()
  opts.api_key = opts.api_key or "ti-redis-key"
  return userupd.thoughtindustries(opts)
end

describe("userupd.budget.redis", function()
  local rc

  setup(function()
    assert(sandbox.start())
    rc = start_redis()
  end)
  teardown(function()
    stop_redis()
    pcall(sandbox.reset)
  end)
  before_each(function()
    sandbox.reset()
    rc:flushall()
  end)

  it("two processes on one Redis budget: 0 429s, >= 95% of the budget",
     function()
    local rate, burst = 5, 5
    sandbox.config{ ti_rate = rate, ti_burst = burst }
    -- the workers find redis.lua the way this process did: LUA_PATH_5_4
    -- (set by tools/apicheck) wins over LUA_PATH on 5.4
    local path = (os.getenv("LUA_PATH") or ";;") .. ";" .. EXTRA_PATH
    local env = "LUA_PATH=" .. q(path)
    if os.getenv("LUA_PATH_5_4") then
      env = env .. " LUA_PATH_5_4=" .. q(os.getenv("LUA_PATH_5_4") .. ";" ..
                                         EXTRA_PATH)
    end
    local cmds = {}
    for i = 1, 2 do
      cmds[i] = ("%s %s spec/support/budget_worker.lua %s 6 %d %d " ..
                 "redis %d w%d &"):format(env, q(util.lua()),
                 q(sandbox.url()), rate, burst, PORT, i)
    end
    local out = sh("cd " .. q(util.root) .. " && (" .. table.concat(cmds, " ")
                   .. " wait) 2>&1")
    local n = 0
    for ok, failed, limited in out:gmatch("ok=(%d+) failed=(%d+) limited=(%d+)") do
      n = n + 1
      assert.equals("0", limited, out)
      assert.equals("0", failed, out)
      assert.is_true(tonumber(ok) > 0, out)
    end
    assert.equals(2, n, out)
    local b = sandbox.stats().ti_bucket
    local used = b.ok / (burst + rate * (b.last - b.first))
    print(("# redis, 2 processes: %d sent, %d 429s, %.1f%% of the budget " ..
           "over %.2f s"):format(b.ok, b.limited, 100 * used, b.last - b.first))
    assert.equals(0, b.limited)
    assert.is_true(used >= 0.95, "used " .. used)
    assert.is_true(used <= 1.0, "used " .. used)
  end)

  it("keys Redis by a hash of vendor and credential, never the secret",
     function()
    local secret = "ti-Secret-Redis-77"
    local c = ti{ api_key = secret, rate = 50, daily_quota = 10,
                  shared_budget = rstore.new{ port = PORT } }
    assert.truthy(c:update(UUID, { firstName = "A" }))
    local s = c:update_many({ { UUID, { firstName = "B" } } },
                            { progress = false })
    assert.equals(1, s.ok)
    local keys = rc:keys("*")
    table.sort(keys)
    assert.equals(2, #keys)
    local want = sh("printf 'userupd shared budget key 1\\0thoughtindustries" ..
                    "\\0api_key\\0" .. secret .. "\\0' | sha256sum"):sub(1, 32)
    assert.matches("^userupd:day:" .. want .. ":%d+$", keys[1])
    assert.equals("userupd:tat:" .. want, keys[2])
    for _, k in ipairs(keys) do
      assert.is_nil(k:find(secret, 1, true))
      assert.is_nil(tostring(rc:get(k)):find(secret, 1, true))
    end
    assert.equals("2", rc:get(keys[1]))        -- update and update_many count
  end)

  it("counts the daily quota in Redis, across clients", function()
    local function client()
      return ti{ rate = 0, daily_quota = 3,
                 shared_budget = rstore.new{ port = PORT } }
    end
    local recs = {}
    for i = 1, 4 do
      recs[i] = { ("%08x-0000-4000-8000-00000000beef"):format(i),
                  { firstName = "Q" } }
    end
    local s = client():update_many({ recs[1], recs[2] }, { progress = false })
    assert.equals(2, s.ok)
    s = client():update_many({ recs[3], recs[4] }, { progress = false })
    assert.equals(1, s.ok)
    assert.equals("daily_quota", s.stopped)
    assert.equals("daily quota reached: 3 sent today, 1 left; run again " ..
                  "after 00:00 UTC", s.message)
  end)

  it("knows its scripts' SHA-1s: Redis' own for the same text", function()
    for name, script in pairs(rstore.SCRIPTS) do
      assert.are.equal(rc:script("load", script), rstore.SHA[name], name)
    end
  end)

  -- Redis' count of each command it ran.
  local function calls()
    local t = {}
    for name, v in pairs(rc:info("commandstats").commandstats) do
      t[name:gsub("^cmdstat_", "")] = tonumber(tostring(v):match("calls=(%d+)"))
    end
    return t
  end

  it("sends scripts by SHA-1, loading one only when Redis lacks it",
     function()
    rc:script("flush")                       -- as after a Redis restart
    rc:config("resetstat")
    local store = rstore.new{ port = PORT }
    for _ = 1, 3 do assert.is_number(store:take("k-sha", 50, 5)) end
    assert.is_true(select(2, store:spend("k-sha", 10)))
    local n = calls()
    assert.is_nil(n.eval)                    -- the script text never goes
    assert.are.equal(2, n["script|load"])     -- once per script
    assert.are.equal(6, n.evalsha)           -- 4 + the two NOSCRIPTs
    -- known now: by SHA only
    rc:config("resetstat")
    assert.is_number(store:take("k-sha", 50, 5))
    n = calls()
    assert.are.same({ evalsha = 1 }, { evalsha = n.evalsha, eval = n.eval,
                                       ["script|load"] = n["script|load"] })
  end)

  it("says so when Redis is gone", function()
    local c = ti{ rate = 5, shared_budget = rstore.new{ port = PORT + 7 } }
    local ok, err = pcall(c.update, c, UUID, { firstName = "A" })
    assert.is_false(ok)
    assert.matches("shared_budget take failed (userupd.budget.redis " ..
                   "127.0.0.1:" .. (PORT + 7) .. "): redis: ", tostring(err),
                   1, true)
  end)
end)
