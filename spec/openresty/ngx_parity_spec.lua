-- OpenResty on a par with libcurl, inside real nginx (Debian's nginx with
-- its Lua module, the module from build/jit/):
--   * two nginx servers, two workers each, share one Thought Industries
--     budget through one redis-server with userupd.budget.redis over
--     lua-resty-redis (cosockets: the store's take yields, from the Lua
--     call loop), against the sandbox's exact token bucket: no 429;
--   * on_attempt on the nginx path: a retry after a 429 with Retry-After,
--     a backoff, a reused connection, and a hook that yields;
--   * a client option the ngx transport cannot honour (proxy, ca_file,
--     HTTP/2) is refused, at options{} and per request, never dropped;
--   * the example's handler (examples/openresty/handler.lua) paces against
--     the lua_shared_dict its nginx.conf declares, or a redis:// store.
-- nginx and redis-server are stopped by their PIDs.
local cjson = require "cjson"
local util = require "support.util"
local sandbox = require "support.sandbox"

local ROOT = sandbox.root
local BASE_PORT = tonumber(os.getenv("USERUPD_OPENRESTY_PORT") or "18090")
local PORTS = { BASE_PORT + 110, BASE_PORT + 111 }
local REDIS_PORT = BASE_PORT + 112
local DIR = ROOT .. "/build/ngx-parity-spec"
local RATE, BURST, SECS = 5, 5, 6

local q = util.q
local read = util.read_if
local alive = util.alive

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; printf '\\n%d' $?", "r"))
  local out = p:read("*a")
  p:close()
  local text, rc = out:match("^(.*)\n(%d+)$")
  return text or out, tonumber(rc or -1)
end

local CONF = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon on;
user root;
pid logs/nginx.pid;
worker_processes 2;
error_log logs/error.log warn;
events { worker_connections 256; }
http {
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    access_log off;
    lua_package_path "@ROOT@/lua/?.lua;@ROOT@/lua/?/init.lua;@ROOT@/examples/openresty/?.lua;;";
    lua_package_cpath "@ROOT@/build/jit/?.so;;";
    lua_shared_dict results 1m;
    lua_shared_dict userupd_budget 1m;      # as examples/openresty/nginx.conf
    init_worker_by_lua_block {
        -- each worker: wait for /go, then send for SECS seconds, one
        -- update at a time, through the Redis budget
        local function run(premature)
            if premature then return end
            local userupd = require "userupd"
            local ngxt = require "userupd.transport.ngx"
            local store = require("userupd.budget.redis").new{
                port = @REDIS@ }
            local res, id = ngx.shared.results, ngx.worker.id()
            local go
            for _ = 1, 1200 do
                go = res:get("go")
                if go then break end
                ngx.sleep(0.05)
            end
            if not go then return end
            res:set("driver", store.driver)
            local c = userupd.thoughtindustries(ngxt.options{
                api_key = "ti-ngx-redis-key", base_url = "@BASE@",
                rate = @RATE@, burst = @BURST@, retries = 0,
                shared_budget = store })
            local n = 0
            ngx.update_time()
            while ngx.now() < go + @SECS@ and n < 1000 do
                n = n + 1
                local user, err = c:update(("%08x-0000-4000-8000-%012d")
                    :format(n, @INSTANCE@ * 10 + id), { firstName = "W" })
                local k = user and "ok" or
                          (err.status == 429 and "limited" or "failed")
                res:incr(k, 1, 0)
                if k == "failed" then res:set("err", tostring(err)) end
                ngx.update_time()
            end
            res:incr("done", 1, 0)
        end
        ngx.timer.at(0, run)
    }
    server {
        listen 127.0.0.1:@PORT@;
        default_type application/json;
        location = /go {
            content_by_lua_block {
                ngx.shared.results:set("go", tonumber(ngx.var.arg_at))
                ngx.say("{}")
            }
        }
        location = /results {
            content_by_lua_block {
                local res, t = ngx.shared.results, {}
                for _, k in ipairs(res:get_keys(0)) do t[k] = res:get(k) end
                ngx.say(require("cjson").encode(t))
            }
        }
        location = /trace {
            content_by_lua_block {
                local userupd = require "userupd"
                local ngxt = require "userupd.transport.ngx"
                local seen, yielded = {}, 0
                local c = userupd.questionpro(ngxt.options{
                    api_key = "qp-ngx-Secret-3", base_url = "@BASE@",
                    rate = 0, retries = 3, retry_base = 0.05,
                    on_attempt = function(a)
                        ngx.sleep(0.001)          -- a hook may yield here
                        yielded = yielded + 1
                        seen[#seen + 1] = a
                    end })
                local u1, e1 = c:update(1234599, { firstName = "N1" })
                local u2, e2 = c:update(1234599, { firstName = "N2" })
                ngx.say(require("cjson").encode{ seen = seen,
                    yielded = yielded, ok1 = u1 ~= nil, ok2 = u2 ~= nil,
                    e1 = e1 and tostring(e1), e2 = e2 and tostring(e2) })
            }
        }
        location /users/ {
            content_by_lua_block {
                local h = require "handler"
                h.configure{
                    questionpro = { api_key = "qp-ex-key",
                        base_url = "@BASE@", rate = 50 },
                    thoughtindustries = { api_key = "ti-ex-key",
                        base_url = "@BASE@", rate = 50,
                        shared_budget = "redis://127.0.0.1:@REDIS@" } }
                h.handle()
            }
        }
        location = /budget_keys {
            content_by_lua_block {
                ngx.say(#ngx.shared.userupd_budget:get_keys(0))
            }
        }
        location = /refuse {
            content_by_lua_block {
                local userupd = require "userupd"
                local ngxt = require "userupd.transport.ngx"
                local out = {}
                for _, o in ipairs{ { proxy = "http://127.0.0.1:9" },
                                    { http_version = "2" } } do
                    o.api_key = "k"
                    local ok, err = pcall(ngxt.options, o)
                    out[#out + 1] = ok and "accepted" or tostring(err)
                end
                -- the transport given by hand: refused per request
                local c = userupd.questionpro{ api_key = "k",
                    base_url = "@BASE@", proxy = "http://127.0.0.1:9",
                    transport = ngxt.request, sleep = ngxt.sleep }
                local u, err, info = c:update(1234599, { firstName = "P" })
                out[#out + 1] = u and "sent" or (err.kind .. ": " ..
                    err.message .. " (attempts " .. info.attempts .. ")")
                ngx.say(require("cjson").encode(out))
            }
        }
    }
}
]]

local function prefix(i) return DIR .. "/nginx" .. i end

local function render(i)
  return (CONF:gsub("@(%u+)@", { ROOT = ROOT, BASE = sandbox.url(),
    RATE = RATE, BURST = BURST, SECS = SECS, PORT = PORTS[i],
    REDIS = REDIS_PORT, INSTANCE = i }))
end

local function stop_pid(pid, comm)
  if not pid or not alive(pid) then return end
  if (read("/proc/" .. pid .. "/comm") or ""):gsub("%s+$", "") ~= comm then
    return
  end
  for _, sig in ipairs({ "QUIT", "TERM", "KILL" }) do
    os.execute(("kill -%s %d 2>/dev/null"):format(sig, pid))
    for _ = 1, 50 do
      if not alive(pid) then return end
      os.execute("sleep 0.1")
    end
  end
end

local function get(i, path)
  local res = sandbox.http("GET", ("http://127.0.0.1:%d%s"):format(PORTS[i],
                                                                   path),
                           { timeout = 30 })
  assert(res.status == 200, path .. ": " .. tostring(res.status) .. " " ..
         tostring(res.body) .. (read(prefix(i) .. "/logs/error.log") or ""))
  return cjson.decode(res.body)
end

describe("OpenResty parity", function()
  local pids, redis_pid = {}, nil

  setup(function()
    if not io.open(ROOT .. "/build/jit/userupd.so", "rb") then
      local out, rc = sh("cd " .. q(ROOT) .. " && make -s LUA_VERSION=jit")
      assert(rc == 0, "make LUA_VERSION=jit failed:\n" .. out)
    end
    assert(sandbox.start())
    sandbox.reset()
    stop_pid(tonumber(read(DIR .. "/redis.pid") or ""), "redis-server")
    for i = 1, 2 do
      stop_pid(tonumber(read(prefix(i) .. "/logs/nginx.pid") or ""), "nginx")
    end
    sh("rm -rf " .. q(DIR) .. " && mkdir -p " .. q(DIR))
    local out, rc = sh(("redis-server --port %d --bind 127.0.0.1 --save '' "
      .. "--appendonly no --daemonize yes --pidfile %s --logfile %s --dir %s")
      :format(REDIS_PORT, q(DIR .. "/redis.pid"), q(DIR .. "/redis.log"),
              q(DIR)))
    assert(rc == 0, "redis-server: " .. out)
    for _ = 1, 50 do
      redis_pid = tonumber(read(DIR .. "/redis.pid") or "")
      if redis_pid then break end
      os.execute("sleep 0.1")
    end
    for i = 1, 2 do
      local p = prefix(i)
      sh("mkdir -p " .. q(p .. "/logs") .. " " .. q(p .. "/tmp") .. " " ..
         q(p .. "/conf"))
      util.write(p .. "/conf/nginx.conf", render(i))
      out, rc = sh(("nginx -p %s -c conf/nginx.conf -e logs/error.log")
                   :format(q(p .. "/")))
      assert(rc == 0, "nginx did not start: " .. out)
      for _ = 1, 50 do
        pids[i] = tonumber(read(p .. "/logs/nginx.pid") or "")
        local _, crc = sh(("curl -s -o /dev/null -m 1 " ..
                           "http://127.0.0.1:%d/results"):format(PORTS[i]))
        if pids[i] and crc == 0 then break end
        os.execute("sleep 0.1")
      end
      assert(pids[i], "nginx " .. i .. " did not answer")
    end
  end)

  teardown(function()
    for i = 1, 2 do stop_pid(pids[i], "nginx") end
    stop_pid(redis_pid, "redis-server")
    pcall(sandbox.config, { ti_rate = 0 })
    pcall(sandbox.reset)
  end)

  it("two nginx servers share one Redis budget: no 429, >= 95% of it",
     function()
    sandbox.config{ ti_rate = RATE, ti_burst = BURST }
    local at = os.time() + 1
    for i = 1, 2 do get(i, "/go?at=" .. at) end
    local r = {}
    for _ = 1, (SECS + 15) * 10 do            -- bounded: the loops end
      os.execute("sleep 0.1")
      r[1], r[2] = get(1, "/results"), get(2, "/results")
      if (r[1].done or 0) >= 2 and (r[2].done or 0) >= 2 then break end
    end
    for i = 1, 2 do
      assert.are.equal(2, r[i].done, cjson.encode(r[i]))
      assert.are.equal("resty", r[i].driver)
      assert.is_nil(r[i].failed, r[i].err)
      assert.is_nil(r[i].limited)
      assert.is_true((r[i].ok or 0) > 0, "server " .. i .. " sent none")
    end
    local b = sandbox.stats().ti_bucket
    local used = b.ok / (BURST + RATE * (b.last - b.first))
    print(("# 2 nginx x 2 workers, one Redis: %d sent, %d 429s, %.1f%% of " ..
           "the budget over %.2f s"):format(b.ok, b.limited, 100 * used,
                                            b.last - b.first))
    assert.are.equal(0, b.limited)
    assert.are.equal(r[1].ok + r[2].ok, b.ok)
    assert.is_true(used >= 0.95, "used " .. used)
    assert.is_true(used <= 1.0, "used " .. used)
  end)

  it("on_attempt inside nginx: Retry-After, backoff, a reused connection",
     function()
    sandbox.fault{ fault = "429:retry_after=1", count = 1, method = "PUT" }
    sandbox.fault{ fault = "502", count = 1, method = "PUT" }
    local t = get(1, "/trace")
    assert.is_true(t.ok1, t.e1)
    assert.is_true(t.ok2, t.e2)
    local s = t.seen
    assert.are.equal(4, #s)
    assert.are.equal(4, t.yielded)
    assert.are.same({ 1, 429, "rate_limited", "retry" },
      { s[1].attempt, s[1].status, s[1].error, s[1].verdict })
    assert.is_boolean(s[1].reused)     -- the worker's pool may have one
    assert.is_true(s[2].reused, "kept after the 429")
    assert.is_true(s[3].reused, "kept after the 502")
    assert.is_true(s[1].retry_in >= 1)
    assert.are.same({ 2, 502, "retry_after", s[1].retry_in },
      { s[2].attempt, s[2].status, s[2].wait_reason, s[2].wait })
    assert.are.same({ 3, 200, "done", "backoff" },
      { s[3].attempt, s[3].status, s[3].verdict, s[3].wait_reason })
    assert.are.same({ 1, 200, true }, { s[4].attempt, s[4].status,
                                        s[4].reused })
    for _, a in ipairs(s) do
      local tm = a.time
      assert.is_number(tm.connect)
      assert.is_true(tm.total >= tm.first_byte and tm.first_byte >= 0)
      assert.is_nil(tm.dns)
    end
    assert.is_nil(cjson.encode(s):find("qp-ngx-Secret-3", 1, true))
  end)

  it("the example handler paces against the dict, or a redis:// store",
     function()
    local res = sandbox.http("GET", ("http://127.0.0.1:%d/budget_keys")
                             :format(PORTS[2]))
    assert.are.equal("0", res.body:match("%d+"))
    res = sandbox.http("PUT", ("http://127.0.0.1:%d/users/questionpro/" ..
      "1234599"):format(PORTS[2]), { body = '{"firstName":"Ex"}',
      headers = { ["Content-Type"] = "application/json" } })
    assert.are.equal(200, res.status, res.body)
    res = sandbox.http("GET", ("http://127.0.0.1:%d/budget_keys")
                       :format(PORTS[2]))
    assert.are.equal("1", res.body:match("%d+"))   -- the QP key's bucket
    sh(("redis-cli -p %d flushall"):format(REDIS_PORT))
    res = sandbox.http("PUT", ("http://127.0.0.1:%d/users/thoughtindustries/" ..
      "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"):format(PORTS[2]),
      { body = '{"firstName":"Ex"}',
        headers = { ["Content-Type"] = "application/json" } })
    assert.are.equal(200, res.status, res.body)
    local after = sh(("redis-cli -p %d --raw keys 'userupd:tat:*' | wc -l")
                     :format(REDIS_PORT))
    assert.are.equal(1, tonumber(after))     -- the TI key's bucket
  end)

  it("refuses a client option the ngx transport cannot honour", function()
    local before = sandbox.stats().requests
    local out = get(1, "/refuse")
    assert.matches("cannot honour the client option proxy", out[1], 1, true)
    assert.matches("cannot honour the client option http_version", out[2],
                   1, true)
    assert.matches("^transport: .*userupd%.transport%.ngx cannot honour " ..
                   "the client's proxy option", out[3])
    assert.matches("(attempts 1)", out[3], 1, true)
    assert.are.equal(before, sandbox.stats().requests)   -- nothing sent
  end)
end)
