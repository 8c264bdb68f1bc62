-- userupd inside nginx: the example in examples/openresty/ (nginx.conf +
-- handler.lua) with userupd.transport.ngx, served by real nginx against the
-- sandbox, driven with the curl binary.
--
-- Deployed as the example's README says: a prefix directory outside the
-- repository holding conf/nginx.conf, handler.lua and a LuaRocks tree
-- built for LuaJIT (luarocks --lua-version 5.1 make --tree P/lua_modules),
-- started from another directory with LUA_PATH/LUA_CPATH unset, so the
-- module can only come from the tree.  OpenResty is not packaged for
-- Debian 12, so this is Debian's nginx + libnginx-mod-http-lua: the conf
-- is the example's, plus the two load_module lines that build needs (the
-- only difference; README.md in the example says so), with the spec's
-- port and CA.  Each nginx is stopped with QUIT at the end, also when a
-- test fails.
local cjson = require "cjson"
local util = require "support.util"
local sandbox = require "support.sandbox"

local ROOT = sandbox.root
local EXAMPLE = ROOT .. "/examples/openresty/nginx.conf"
local HANDLER = ROOT .. "/examples/openresty/handler.lua"
local ROCKSPEC = "userupd-" .. assert(io.open(ROOT .. "/src/userupd.h"))
  :read("*a"):match('#define UU_VERSION "([^"]+)"') .. "-1.rockspec"
-- Debian's nginx loads its Lua module dynamically; OpenResty has it built in.
local DEBIAN_MODULES = "load_module /usr/lib/nginx/modules/ndk_http_module.so;\n"
  .. "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\n"
local PORT = tonumber(os.getenv("USERUPD_OPENRESTY_PORT")
                      or sandbox.ports().openresty)
local NOCA_PORT = PORT + 1
local KEY = ("qp-Secret-%d-Zq7"):format(os.time())   -- must never come back
local SM_PASSWORD = "sm-Secret-Pw9"

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

local function sleep(secs) os.execute("sleep " .. secs) end

-- os.execute gives true (5.2+) or 0 (5.1, LuaJIT) on success
local alive = util.alive

---------------------------------------------------------------------------
-- nginx instances

-- The example configuration, as Debian's nginx runs it, with the spec's
-- port and CA.  Every replacement must hit exactly once, so a change to
-- the example that breaks the spec's assumptions fails loudly here.
local function render(port, ca)
  local conf = assert(read(EXAMPLE), "cannot read " .. EXAMPLE)
  local function swap(old, new)
    local i, j = conf:find(old, 1, true)
    assert(i and not conf:find(old, j + 1, true),
           "examples/openresty/nginx.conf: expected one '" .. old .. "'")
    conf = conf:sub(1, i - 1) .. new .. conf:sub(j + 1)
  end
  swap("listen 127.0.0.1:8080;", ("listen 127.0.0.1:%d;"):format(port))
  swap("lua_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;",
       ca and "lua_ssl_trusted_certificate sandbox-ca.crt;   # in conf/"
          or "# lua_ssl_trusted_certificate: left out by the spec")
  return DEBIAN_MODULES .. conf
end

local function stop(inst)
  if not inst then return end
  local pid = inst.pid or tonumber(read(inst.prefix .. "/logs/nginx.pid") or "")
  if not pid or not alive(pid) then return end
  -- only our own master: the pid file is in our prefix, and it is nginx
  if (read("/proc/" .. pid .. "/comm") or ""):gsub("%s+$", "") ~= "nginx" then
    return
  end
  for _, sig in ipairs({ "QUIT", "TERM", "KILL" }) do
    os.execute(("kill -%s %d 2>/dev/null"):format(sig, pid))
    for _ = 1, 50 do                    -- 5 s per signal at most
      if not alive(pid) then return end
      sleep(0.1)
    end
  end
  error("nginx " .. pid .. " did not stop")
end

-- The LuaRocks tree for LuaJIT, built once from the checkout's files (a
-- copy: LuaRocks builds in the source directory).
local function build_tree(base)
  local src, tree = base .. "/src", base .. "/lua_modules"
  local out, rc = sh(("mkdir -p %s && cd %s && git ls-files -z | xargs -0 tar "
    .. "cf - | tar xf - -C %s && cd %s && env -u LUA_PATH -u LUA_CPATH "
    .. "luarocks --lua-version 5.1 make --deps-mode=none --tree %s %s")
    :format(q(src), q(ROOT), q(src), q(src), q(tree), ROCKSPEC))
  assert(rc == 0, "luarocks --lua-version 5.1 make failed:\n" .. out)
  return tree
end

-- start{base, tree, name, port, ca, env} -> instance {prefix, port, pid}
-- The prefix is laid out as the example's README says, outside the repo.
local function start(t)
  local prefix = t.base .. "/" .. t.name
  local inst = { prefix = prefix, port = t.port }
  stop(inst)                            -- a leftover from an aborted run
  sh("rm -rf " .. q(prefix) .. " && mkdir -p " ..
     q(prefix .. "/logs") .. " " .. q(prefix .. "/tmp") .. " " ..
     q(prefix .. "/conf") .. " && ln -s " .. q(t.tree) .. " " ..
     q(prefix .. "/lua_modules") .. " && cp " .. q(HANDLER) .. " " ..
     q(prefix .. "/"))
  write(prefix .. "/conf/nginx.conf", render(t.port, t.ca))
  if t.ca then write(prefix .. "/conf/sandbox-ca.crt", read(t.ca)) end
  local env = {}
  for k, v in pairs(t.env) do env[#env + 1] = k .. "=" .. q(v) end
  table.sort(env)
  local out, rc = sh(("cd / && env -u LUA_PATH -u LUA_CPATH %s nginx -p %s "
    .. "-c conf/nginx.conf -e logs/error.log"):format(table.concat(env, " "),
    q(prefix .. "/")))
  if rc ~= 0 then
    error(("nginx did not start (rc %d): %s\n%s"):format(rc, out,
          read(prefix .. "/logs/error.log") or ""))
  end
  for _ = 1, 50 do                      -- up to 5 s for the pid file + port
    inst.pid = tonumber(read(prefix .. "/logs/nginx.pid") or "")
    local _, crc = sh(("curl -s -o /dev/null -m 1 http://127.0.0.1:%d/")
                      :format(t.port))
    if inst.pid and crc == 0 then return inst end
    sleep(0.1)
  end
  stop(inst)
  error("nginx started but does not answer on port " .. t.port)
end

---------------------------------------------------------------------------
-- Requests

local answers = {}       -- every body and header dump, for the secret check

local function put(port, path, body, extra)
  local res = sandbox.http("PUT", ("http://127.0.0.1:%d%s"):format(port, path),
    { body = body, headers = { ["Content-Type"] = "application/json" },
      timeout = 20, curl_args = extra })
  answers[#answers + 1] = res.body
  for k, v in pairs(res.headers) do answers[#answers + 1] = k .. ": " .. v end
  return res
end

local function decode(res)
  local ok, v = pcall(cjson.decode, res.body)
  assert(ok, ("answer is not JSON (%s): %s"):format(res.status, res.body))
  return v
end

local function env()
  return {
    USERUPD_QUESTIONPRO_API_KEY = KEY,
    USERUPD_QUESTIONPRO_BASE_URL = sandbox.url(),
    USERUPD_QUESTIONPRO_RATE = "0",            -- no pacing: measure overlap
    USERUPD_QUESTIONPRO_RETRY_BASE = "0.05",
    USERUPD_QUESTIONPRO_MAX_RETRY_WAIT = "0.2",
    USERUPD_SMARTERMEASURE_USERNAME = "sm-user",
    USERUPD_SMARTERMEASURE_PASSWORD = SM_PASSWORD,
    -- the certificate names localhost and 127.0.0.1, but nginx checks only
    -- DNS names: use the name
    USERUPD_SMARTERMEASURE_BASE_URL =
      (sandbox.tls_url():gsub("127%.0%.0%.1", "localhost")),
    USERUPD_SMARTERMEASURE_RATE = "0",
  }
end

---------------------------------------------------------------------------

describe("userupd in nginx (examples/openresty)", function()
  local ngx_main

  local base, tree

  setup(function()
    -- workers run as nginx's default user: the prefix must be readable
    base = os.tmpname()
    os.remove(base)
    sh("mkdir -p " .. q(base) .. " && chmod 755 " .. q(base))
    tree = build_tree(base)
    sandbox.start()
    sandbox.reset()
    ngx_main = start{ base = base, tree = tree, name = "main", port = PORT,
                      ca = sandbox.ca(), env = env() }
  end)

  teardown(function()
    pcall(sandbox.config, { delay_ms = 0 })
    pcall(sandbox.clear_faults)
    stop(ngx_main)
    if base then sh("rm -rf " .. q(base)) end
  end)

  it("is served from the LuaRocks tree, not from the repository", function()
    local conf = read(ngx_main.prefix .. "/conf/nginx.conf")
    assert.is_nil(conf:find(ROOT, 1, true))
    assert.is_nil(conf:find("user root", 1, true))
    assert.are.equal(DEBIAN_MODULES, conf:sub(1, #DEBIAN_MODULES))
    -- the only load_module lines are the ones the spec added for Debian
    assert.is_nil(read(EXAMPLE):find("\nload_module", 1, true))
    local maps = read("/proc/" .. ngx_main.pid .. "/maps") or ""
    -- the master loaded the module in init_by_lua: from the tree
    assert.matches(tree .. "/lib/lua/5.1/userupd.so", maps, 1, true)
    assert.is_nil(maps:find(ROOT, 1, true))
  end)

  it("takes every option from the environment (declared with env)",
     function()
    -- key_in was not in the old hand-written env list: now every option is
    local inst
    local ok, err = pcall(function()
      local e = env()
      e.USERUPD_QUESTIONPRO_KEY_IN = "header"
      inst = start{ base = base, tree = tree, name = "keyin", port = PORT + 2,
                    ca = sandbox.ca(), env = e }
      local res = put(PORT + 2, "/users/questionpro/1234599", '{"firstName":"H"}')
      assert.are.equal(200, res.status, res.body)
      local last = sandbox.last("questionpro")
      assert.are.equal(KEY, last.headers["api-key"])
      assert.is_nil(last.uri:find("apiKey", 1, true))
    end)
    stop(inst)
    assert(ok, err)
  end)

  before_each(function() sandbox.reset() end)

  it("serves 20 concurrent updates from one worker while each waits 300 ms",
     function()
    assert.truthy(read(EXAMPLE):find("\nworker_processes 1;", 1, true))
    local dir = ngx_main.prefix .. "/par"
    sh("mkdir -p " .. q(dir))
    local N, first = 20, 3100001
    local script = { "t0=$(date +%s.%N)" }
    for i = 1, N do
      write(("%s/req%d"):format(dir, i),
            cjson.encode({ firstName = "Par" .. i, departmentID = i }))
      script[#script + 1] = ("curl -sS -m 20 -X PUT " ..
        "-H 'Content-Type: application/json' --data-binary @%s/req%d " ..
        "-o %s/body%d -D %s/head%d -w '%%{http_code} %%{time_total}' " ..
        "http://127.0.0.1:%d/users/questionpro/%d >%s/w%d 2>&1 &")
        :format(dir, i, dir, i, dir, i, PORT, first + i - 1, dir, i)
    end
    script[#script + 1] = "wait"
    script[#script + 1] = "t1=$(date +%s.%N)"
    script[#script + 1] = "echo \"$t0 $t1\""
    write(dir .. "/run.sh", table.concat(script, "\n") .. "\n")

    sandbox.config({ delay_ms = 300 })
    local ok, err = pcall(function()
      local out, rc = sh("sh " .. q(dir .. "/run.sh"))
      assert.are.equal(0, rc, out)
      local t0, t1 = out:match("([%d.]+) ([%d.]+)%s*$")
      local total = tonumber(t1) - tonumber(t0)
      print(("# %d requests in %.2f s (each answered 300 ms late; " ..
             "one worker)"):format(N, total))
      for i = 1, N do
        local w = read(("%s/w%d"):format(dir, i)) or ""
        local code, secs = w:match("^(%d+) ([%d.]+)$")
        assert.are.equal("200", code, ("request %d: %s %s"):format(i, w,
                         read(("%s/body%d"):format(dir, i)) or ""))
        assert.is_true(tonumber(secs) >= 0.3, "request " .. i ..
                       " did not wait for the delay: " .. secs)
        local body = read(("%s/body%d"):format(dir, i))
        answers[#answers + 1] = body
        answers[#answers + 1] = read(("%s/head%d"):format(dir, i))
        local user = cjson.decode(body)
        assert.are.equal("Par" .. i, user.firstName)
        assert.are.equal(first + i - 1, user.userID)
      end
      -- a blocking worker would need at least 20 x 0.3 = 6 s; overlapped it
      -- is about 0.4 s, and 2.8 - 4.1 s was seen on 2 cores at load 11
      assert.is_true(total < 5, ("took %.2f s: not overlapped"):format(total))
      local puts = sandbox.puts("questionpro")
      for i = 1, N do
        local id = first + i - 1
        assert.are.equal(1, puts[tostring(id)], "PUTs for " .. id)
        assert.are.equal("Par" .. i, sandbox.user("questionpro", id).firstName)
        assert.are.equal(i, sandbox.user("questionpro", id).departmentID)
      end
    end)
    sandbox.config({ delay_ms = 0 })
    assert(ok, err)
  end)

  it("answers 400 with kind invalid and the field, sending nothing",
     function()
    local res = put(PORT, "/users/questionpro/1234599",
                    '{"departmentID":"12"}')
    assert.are.equal(400, res.status, res.body)
    local e = decode(res).error
    assert.are.equal("invalid", e.kind)
    assert.are.equal("departmentID", e.field)
    assert.matches("expected integer", e.message, 1, true)

    res = put(PORT, "/users/questionpro/1234599", '{"FristName":"A"')
    assert.are.equal(400, res.status, res.body)
    e = decode(res).error
    assert.are.same({ "invalid", "body" }, { e.kind, e.field })

    res = put(PORT, "/users/questionpro/1234599", '{"external_id":"X"}')
    assert.are.equal(400, res.status, res.body)
    assert.are.equal("external_id", decode(res).error.field)

    res = put(PORT, "/users/questionpro/0123", '{}')
    assert.are.equal(400, res.status, res.body)
    assert.are.equal("id", decode(res).error.field)

    assert.are.equal(0, sandbox.stats().requests)
  end)

  it("maps vendor errors: 404 for an unknown user, 502 after dropped " ..
     "connections", function()
    local res = put(PORT, "/users/questionpro/900000001", '{"firstName":"N"}')
    assert.are.equal(404, res.status, res.body)
    local e = decode(res).error
    assert.are.same({ "not_found", 404 }, { e.kind, e.status })

    sandbox.fault({ fault = "drop", vendor = "questionpro" })
    res = put(PORT, "/users/questionpro/1234599", '{"firstName":"D"}')
    assert.are.equal(502, res.status, res.body)
    e = decode(res).error
    assert.are.equal("transport", e.kind)
    assert.are.equal("4", res.headers["x-userupd-attempts"])   -- 1 + 3 retries
    assert.is_true(e.retryable)
  end)

  it("retries a 503 and still answers 200 (attempts 2)", function()
    sandbox.fault({ fault = "503", count = 1, vendor = "questionpro" })
    local res = put(PORT, "/users/questionpro/1234599", '{"firstName":"Retry"}')
    assert.are.equal(200, res.status, res.body)
    assert.are.equal("Retry", decode(res).firstName)
    assert.are.equal("2", res.headers["x-userupd-attempts"])
    assert.are.equal("200", res.headers["x-userupd-vendor-status"])
    local stats = sandbox.stats()
    assert.are.equal(1, stats.by_status["503"])
    assert.are.equal(1, stats.by_status["200"])
    assert.are.equal("Retry", sandbox.user("questionpro", 1234599).firstName)
  end)

  it("speaks TLS to the vendor with lua_ssl_trusted_certificate set",
     function()
    local res = put(PORT, "/users/smartermeasure/10000001",
                    '{"FirstName":"Tls"}')
    assert.are.equal(200, res.status, res.body)
    assert.are.equal("Tls", decode(res).FirstName)
    assert.are.equal("Tls", sandbox.user("smartermeasure", 10000001).FirstName)
    -- the second one rides the pooled TLS connection
    res = put(PORT, "/users/smartermeasure/10000001", '{"LastName":"Again"}')
    assert.are.equal(200, res.status, res.body)
    assert.are.equal(2, sandbox.puts("smartermeasure")["10000001"])
  end)

  it("refuses the vendor's certificate without lua_ssl_trusted_certificate",
     function()
    local inst
    local ok, err = pcall(function()
      inst = start{ base = base, tree = tree, name = "noca", port = NOCA_PORT,
                    ca = nil, env = env() }
      local res = put(NOCA_PORT, "/users/smartermeasure/10000002",
                      '{"FirstName":"NoCa"}')
      assert.are.equal(502, res.status, res.body)
      local e = decode(res).error
      assert.are.equal("transport", e.kind)
      assert.matches("handshake", e.message, 1, true)
      assert.matches("certificate", e.message, 1, true)
      assert.is_false(e.retryable)
      assert.are.equal("1", res.headers["x-userupd-attempts"])
      assert.is_nil(sandbox.puts("smartermeasure")["10000002"])
      -- plain http still works there
      res = put(NOCA_PORT, "/users/questionpro/1234599", '{"firstName":"P"}')
      assert.are.equal(200, res.status, res.body)
    end)
    stop(inst)
    assert(ok, err)
  end)

  it("never lets a credential into an answer", function()
    -- a few more error paths first
    put(PORT, "/users/questionpro/1234599", "not json")
    local res = put(PORT, "/users/nosuchvendor/1", "{}")
    assert.are.equal(404, res.status, res.body)
    -- a vendor without credentials: 503, naming the variables only
    res = put(PORT, "/users/formsonfire/2ebc64a36a0d400d0123456789abcdef",
              '{"Type":"Lite"}')
    assert.are.equal(503, res.status, res.body)
    assert.are.equal("config", decode(res).error.kind)
    assert.matches("USERUPD_FORMSONFIRE_INTEGRATION_KEY",
                   decode(res).error.message, 1, true)
    res = sandbox.http("GET", ("http://127.0.0.1:%d/users/questionpro/1")
                       :format(PORT))
    assert.are.equal(405, res.status, res.body)
    sandbox.fault({ fault = "500", vendor = "questionpro" })
    res = put(PORT, "/users/questionpro/1234599", '{"firstName":"E"}')
    assert.are.equal(502, res.status, res.body)
    assert.are.equal("http", decode(res).error.kind)
    assert.is_true(#answers >= 20)
    for _, a in ipairs(answers) do
      assert.is_nil(a:find(KEY, 1, true), "the API key leaked: " .. a)
      assert.is_nil(a:find(SM_PASSWORD, 1, true), "a password leaked: " .. a)
    end
    -- nor into nginx's error log
    local log = read(ngx_main.prefix .. "/logs/error.log") or ""
    assert.is_nil(log:find(KEY, 1, true), "the API key is in error.log")
  end)
end)
