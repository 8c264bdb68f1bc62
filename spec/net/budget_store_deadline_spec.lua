-- Shared-budget stores that hang or lie (issue 21, items 12, 13, 21):
--   12: every store call has a deadline (the store's own timeout and the
--       client's); a Redis that stops answering, or any store that answers
--       too late, is an error naming the store, not a hang;
--   13: a reservation further ahead than any budget could make (a clock
--       stepped back, a VM restore, a damaged record) is reset by the file
--       and Redis stores and is an error for other stores: never slept on;
--   21: the budget file is created 0600.
-- A real redis-server on 127.0.0.1 (started here, stopped by its PID) and
-- the sandbox.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

local EXTRA_PATH = "/usr/share/lua/5.3/?.lua"
if _VERSION == "Lua 5.4" then
  package.path = package.path .. ";" .. EXTRA_PATH
end
local redis = require "redis"
local rstore = require "userupd.budget.redis"

local PORT = tonumber(os.getenv("USERUPD_BUDGET_REDIS_PORT") or
                      (tonumber(os.getenv("USERUPD_OPENRESTY_PORT") or
                                "18090") + 101)) + 40
local DIR = ("%s/build/budget-deadline-spec"):format(sandbox.root)
local PIDFILE = DIR .. "/redis.pid"
local q, read, alive = util.q, util.read_if, util.alive
local UUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
local AHEAD = 18000

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local function redis_pid()
  local pid = tonumber(read(PIDFILE) or "")
  if pid and alive(pid) and (read("/proc/" .. pid .. "/comm") or "")
     :gsub("%s+$", "") == "redis-server" then
    return pid
  end
end

local function stop_redis()
  local pid = redis_pid()
  if not pid then return end
  os.execute("kill -CONT " .. pid .. "; kill " .. pid)
  for _ = 1, 50 do
    if not alive(pid) then return end
    os.execute("sleep 0.1")
  end
  os.execute("kill -9 " .. pid)
end

local function start_redis()
  stop_redis()
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
  error("redis-server did not start on port " .. PORT .. ": " .. out)
end

-- A Thought Industries client (rate 1) whose sleeps are recorded, not
-- slept: the test sees every wait the core asks for.
local function ti(opts, sleeps)
  opts.base_url = sandbox.url()
  opts.api_key = opts.api_key or "ti-deadline-key"
  opts.rate = opts.rate or 1
  opts.sleep = function(s) sleeps[#sleeps + 1] = s end
  return userupd.thoughtindustries(opts)
end

local function longest(sleeps)
  local m = 0
  for _, s in ipairs(sleeps) do if s > m then m = s end end
  return m
end

describe("shared budget stores", function()
  local rc
  setup(function()
    assert(sandbox.start())
    rc = start_redis()
  end)
  teardown(function()
    stop_redis()
    sh("rm -rf " .. q(DIR))
  end)
  before_each(function()
    sandbox.reset()
    sandbox.clear_faults()
    rc:flushall()
  end)

  it("a Redis that stops answering is an error naming it, in time",
     function()
    local sleeps = {}
    local c = ti({ shared_budget = rstore.new{ port = PORT, timeout = 1 } },
                 sleeps)
    assert.truthy(c:update(UUID, { firstName = "A" }))   -- connected
    local pid = assert(redis_pid())
    os.execute("kill -STOP " .. pid)
    local t0 = os.time()
    local ok, err = pcall(c.update, c, UUID, { firstName = "B" })
    local took = os.time() - t0
    os.execute("kill -CONT " .. pid)
    assert.is_false(ok)
    assert.is_true(took <= 8, "took " .. took .. " s")
    assert.matches("shared_budget take failed (userupd.budget.redis " ..
                   "127.0.0.1:" .. PORT .. "): redis: no answer within 1 s",
                   tostring(err), 1, true)
    -- once it answers again, the store reconnects
    assert.truthy(c:update(UUID, { firstName = "C" }))
  end)

  it("the client's timeout bounds a store call too", function()
    local c = ti({ timeout = 1, shared_budget = rstore.new{ port = PORT } },
                 {})
    local pid = assert(redis_pid())
    os.execute("kill -STOP " .. pid)
    local t0 = os.time()
    local ok, err = pcall(c.update, c, UUID, { firstName = "B" })
    local took = os.time() - t0
    os.execute("kill -CONT " .. pid)
    assert.is_false(ok)
    assert.is_true(took <= 6, "took " .. took .. " s")
    assert.matches("no answer within 1 s", tostring(err), 1, true)
  end)

  it("any store that answers after the client's timeout is an error",
     function()
    local slow = setmetatable({}, { __tostring = function()
      return "my slow store" end })
    function slow.take() os.execute("sleep 2.5") return 0 end
    function slow.spend() return 1, true end
    local c = ti({ timeout = 1, shared_budget = slow }, {})
    local ok, err = pcall(c.update, c, UUID, { firstName = "A" })
    assert.is_false(ok)
    assert.matches("shared_budget take failed (my slow store): answered " ..
                   "after 2 s, past the client's timeout", tostring(err), 1,
                   true)
  end)

  it("a Redis bucket hours ahead is reset, not slept on", function()
    local sleeps = {}
    local c = ti({ shared_budget = rstore.new{ port = PORT } }, sleeps)
    assert.truthy(c:update(UUID, { firstName = "A" }))
    local keys = rc:keys("userupd:tat:*")
    assert.equal(1, #keys)
    local now = tonumber(rc:time()[1])
    rc:set(keys[1], ("%.6f"):format(now + AHEAD))
    assert.truthy(c:update(UUID, { firstName = "B" }))
    assert.is_true(longest(sleeps) < 5, "slept " .. longest(sleeps))
    assert.is_true(tonumber(rc:get(keys[1])) < now + 60)
  end)

  it("a budget file record hours ahead is reset, not slept on; 0600",
     function()
    local path = os.tmpname()
    os.remove(path)
    local sleeps = {}
    local c = ti({ shared_budget = path }, sleeps)
    assert.truthy(c:update(UUID, { firstName = "A" }))
    assert.equal("600", sh("stat -c %a " .. q(path)):match("%d+"))
    -- the first record's tat (a native double after its 32-byte key, in
    -- the record after the 64-byte header), moved hours ahead
    local patch = ([[local f = assert(io.open(%q, "r+b"))
      f:seek("set", 96)
      f:write(string.pack("d", os.time() + %d))
      f:close()]]):format(path, AHEAD)
    assert(os.execute("lua5.4 -e " .. q(patch)))
    assert.truthy(c:update(UUID, { firstName = "B" }))
    assert.is_true(longest(sleeps) < 5, "slept " .. longest(sleeps))
    os.remove(path)
  end)

  it("another store's answer hours ahead is an error naming it", function()
    local liar = setmetatable({}, { __tostring = function()
      return "my store" end })
    function liar.take() return AHEAD end
    function liar.spend() return 1, true end
    local sleeps = {}
    local c = ti({ shared_budget = liar }, sleeps)
    local ok, err = pcall(c.update, c, UUID, { firstName = "A" })
    assert.is_false(ok)
    assert.matches("my store", tostring(err), 1, true)
    assert.matches("18000 s ahead", tostring(err), 1, true)
    assert.equal(0, longest(sleeps))
  end)
end)
