-- The proxy rule (issue 21, item 10; docs/security.md): without the
-- `proxy` option, proxies from the environment (http_proxy, https_proxy,
-- ALL_PROXY) carry https requests, as a CONNECT tunnel that never shows
-- the credential, and never a plain-http request, which carries the
-- credential in clear.  A real proxy (spec/support/tiny_proxy.lua) runs on
-- 127.0.0.1 for a bounded time and logs what it is asked; the update runs
-- in a child process, whose environment holds the proxy variables.
local sandbox = require "support.sandbox"
local util = require "support.util"

local q = util.q
local KEY = "px-env-key-4b1d9"
local PORT = tonumber(os.getenv("USERUPD_PROXY_PORT") or
  (tonumber(sandbox.url():match(":(%d+)$")) + 390))

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local scratch = {}
local function tmp(suffix)
  local p = os.tmpname() .. suffix
  scratch[#scratch + 1] = p
  return p
end

-- Starts the proxy for 30 s at most; returns its log path and pid.
local function start_proxy()
  local log = tmp(".log")
  util.write(log, "")
  local pid = tonumber(sh(("%s spec/support/tiny_proxy.lua %d %s 30 " ..
    ">/dev/null 2>&1 </dev/null & echo $!"):format(q(util.lua()), PORT,
    q(log))):match("%d+"))
  for _ = 1, 100 do                    -- until it listens (bounded)
    if sh("curl -s -o /dev/null -w '%{http_code}' -x http://127.0.0.1:" ..
          PORT .. " http://127.0.0.1:9/ 2>/dev/null") == "502" then
      break
    end
    sh("sleep 0.05")
  end
  util.write(log, "")                  -- forget the probe
  return log, pid
end

-- One update in a child with env (a string of NAME=value words) set;
-- prints ok or the error.
local function update_with(env, base, extra)
  local script = tmp(".lua")
  util.write(script, ([[
    local userupd = require "userupd"
    local c = userupd.questionpro{ api_key = %q, base_url = %q, rate = 0,
                                   retries = 0, timeout = 10 %s }
    local ok, e = c:update(1234599, { firstName = "Proxied" })
    io.write(ok and "ok" or ("error: " .. tostring(e and e.message)))
  ]]):format(KEY, base, extra or ""))
  return sh(("env %s %s %s 2>&1"):format(env, q(util.lua()), q(script)))
end

describe("environment proxies", function()
  local log, pid
  setup(function()
    sandbox.start()
    log, pid = start_proxy()
  end)
  teardown(function()
    if pid and util.alive(pid) then os.execute("kill " .. pid) end
    for _, p in ipairs(scratch) do os.remove(p) end
  end)
  before_each(function()
    sandbox.reset()
    util.write(log, "")
  end)

  local proxy = "http://127.0.0.1:" .. PORT
  for _, var in ipairs({ "http_proxy", "ALL_PROXY", "all_proxy" }) do
    it("never carry a plain-http request (" .. var .. ")", function()
      local out = update_with(var .. "=" .. proxy, sandbox.url())
      assert.equal("ok", out)
      assert.equal("", util.read(log))   -- the proxy saw nothing
      assert.equal("Proxied", sandbox.user("questionpro", 1234599).firstName)
    end)
  end

  for _, var in ipairs({ "https_proxy", "ALL_PROXY" }) do
    it("carry https as a CONNECT tunnel, never the key (" .. var .. ")",
       function()
      local out = update_with(var .. "=" .. proxy, sandbox.tls_url(),
                              (", ca_file = %q"):format(sandbox.ca()))
      assert.equal("ok", out)
      local seen = util.read(log)
      local tls_port = sandbox.tls_url():match(":(%d+)$")
      assert.matches("^CONNECT 127%.0%.0%.1:" .. tls_port .. " HTTP/1%.1",
                     seen)
      assert.is_nil(seen:find(KEY, 1, true))
      assert.is_nil(seen:find("PUT ", 1, true))
      assert.equal("Proxied", sandbox.user("questionpro", 1234599).firstName)
    end)
  end

  it("the proxy option is used as given", function()
    local out = update_with("", sandbox.url(), (", proxy = %q"):format(proxy))
    assert.matches("^error", out)       -- the proxy answers 502 to plain http
    assert.matches("^PUT http://127%.0%.0%.1:%d+/", util.read(log))
  end)
end)
