-- userupd.budget.ngx: four workers of one real nginx (Debian's nginx with
-- its Lua module, the module from build/jit/) share one Thought Industries
-- budget through a lua_shared_dict, against the sandbox's exact token
-- bucket.  Each worker runs its own send loop in a timer; the spec starts
-- them together and reads their counts.  nginx is stopped by its PID.
local cjson = require "cjson"
local util = require "support.util"
local sandbox = require "support.sandbox"

local ROOT = sandbox.root
local PORT = tonumber(os.getenv("USERUPD_BUDGET_NGX_PORT") or
                      (tonumber(os.getenv("USERUPD_OPENRESTY_PORT") or
                                "18090") + 100))
local PREFIX = ROOT .. "/build/budget-ngx-spec"
local RATE, BURST, SECS = 5, 5, 6

local q = util.q

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; printf '\\n%d' $?", "r"))
  local out = p:read("*a")
  p:close()
  local text, rc = out:match("^(.*)\n(%d+)$")
  return text or out, tonumber(rc or -1)
end

local read = util.read_if

local write = util.write

local alive = util.alive

-- Each worker: wait (up to 60 s) for /go, then send for SECS seconds, one
-- update at a time, through the shared budget.
local CONF = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon on;
user root;
pid logs/nginx.pid;
worker_processes 4;
error_log logs/error.log warn;
events { worker_connections 256; }
http {
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    access_log off;
    lua_package_path "$prefix/../../lua/?.lua;$prefix/../../lua/?/init.lua;;";
    lua_package_cpath "$prefix/../../build/jit/?.so;;";
    lua_shared_dict userupd_budget 1m;
    lua_shared_dict results 1m;
    init_worker_by_lua_block {
        local function run(premature)
            if premature then return end
            local userupd = require "userupd"
            local ngxt = require "userupd.transport.ngx"
            local budget = require("userupd.budget.ngx").new("userupd_budget")
            local res, id = ngx.shared.results, ngx.worker.id()
            local go
            for _ = 1, 1200 do
                go = res:get("go")
                if go then break end
                ngx.sleep(0.05)
            end
            if not go then return end
            local c = userupd.thoughtindustries(ngxt.options{
                api_key = "ti-ngx-budget-key", base_url = "@BASE@",
                rate = @RATE@, burst = @BURST@, retries = 0,
                shared_budget = budget })
            local n = 0
            ngx.update_time()
            while ngx.now() < go + @SECS@ and n < 1000 do
                n = n + 1
                local user, err = c:update(
                    ("%08x-0000-4000-8000-%012d"):format(n, id), { firstName = "W" .. id })
                local k = user and "ok" or (err.status == 429 and "limited" or "failed")
                res:incr(k .. ":" .. id, 1, 0)
                if err and k == "failed" then res:set("err:" .. id, tostring(err)) end
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
                ngx.update_time()
                ngx.shared.results:set("go", ngx.now())
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
    }
}
]]

local function render()
  return (CONF:gsub("@(%u+)@", { BASE = sandbox.url(), RATE = RATE,
                                 BURST = BURST, SECS = SECS, PORT = PORT }))
end

local function stop(pid)
  if not pid or not alive(pid) then return end
  if (read("/proc/" .. pid .. "/comm") or ""):gsub("%s+$", "") ~= "nginx" then
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

local function get(path)
  local res = sandbox.http("GET", ("http://127.0.0.1:%d%s"):format(PORT, path))
  assert(res.status == 200, path .. ": " .. tostring(res.status))
  return cjson.decode(res.body)
end

describe("userupd.budget.ngx", function()
  local pid

  setup(function()
    if not io.open(ROOT .. "/build/jit/userupd.so", "rb") then
      local out, rc = sh("cd " .. q(ROOT) .. " && make -s LUA_VERSION=jit")
      assert(rc == 0, "make LUA_VERSION=jit failed:\n" .. out)
    end
    assert(sandbox.start())
    sandbox.reset()
    stop(tonumber(read(PREFIX .. "/logs/nginx.pid") or ""))  -- a leftover
    sh("rm -rf " .. q(PREFIX) .. " && mkdir -p " .. q(PREFIX .. "/logs") ..
       " " .. q(PREFIX .. "/tmp") .. " " .. q(PREFIX .. "/conf"))
    write(PREFIX .. "/conf/nginx.conf", render())
    local out, rc = sh(("nginx -p %s -c conf/nginx.conf -e logs/error.log")
                       :format(q(PREFIX .. "/")))
    assert(rc == 0, "nginx did not start: " .. out)
    for _ = 1, 50 do
      pid = tonumber(read(PREFIX .. "/logs/nginx.pid") or "")
      local _, crc = sh(("curl -s -o /dev/null -m 1 http://127.0.0.1:%d/results")
                        :format(PORT))
      if pid and crc == 0 then break end
      os.execute("sleep 0.1")
    end
    assert(pid, "nginx did not answer")
  end)

  teardown(function()
    stop(pid)
    pcall(sandbox.reset)
  end)

  it("four workers sharing a dict: 0 429s, >= 95% of the budget", function()
    sandbox.config{ ti_rate = RATE, ti_burst = BURST }
    get("/go")
    local r
    for _ = 1, (SECS + 10) * 10 do            -- bounded: the loops end at SECS
      os.execute("sleep 0.1")
      r = get("/results")
      if (r.done or 0) >= 4 then break end
    end
    assert.equals(4, r.done, cjson.encode(r))
    local ok, limited, failed = 0, 0, 0
    for id = 0, 3 do
      assert.is_true((r["ok:" .. id] or 0) > 0, "worker " .. id .. " sent none")
      ok = ok + (r["ok:" .. id] or 0)
      limited = limited + (r["limited:" .. id] or 0)
      failed = failed + (r["failed:" .. id] or 0)
    end
    assert.equals(0, failed, cjson.encode(r))
    assert.equals(0, limited)
    local b = sandbox.stats().ti_bucket
    local used = b.ok / (BURST + RATE * (b.last - b.first))
    print(("# ngx dict, 4 workers: %d sent, %d 429s, %.1f%% of the budget " ..
           "over %.2f s"):format(b.ok, b.limited, 100 * used, b.last - b.first))
    assert.equals(ok, b.ok)
    assert.equals(0, b.limited)
    assert.is_true(used >= 0.95, "used " .. used)
    assert.is_true(used <= 1.0, "used " .. used)
  end)
end)
