-- Test helper for the local vendor sandbox (spec/sandbox/).
--
-- Pure Lua (5.1, 5.4, LuaJIT). HTTP goes through the curl binary so that the
-- helper never depends on the module under test; JSON uses cjson.
--
--   local sandbox = require "spec.support.sandbox"
--   sandbox.start()                      -- idempotent
--   sandbox.reset()
--   local res = sandbox.http("PUT", "/v3/users/1", {user = "k:s", json = {FirstName = "A"}})
--   res.status, res.body, res.headers["x-request-id"], res.rc (curl exit code)
--
-- Note: cjson encodes an empty Lua table as {}; send bodies with empty JSON
-- arrays as raw text (opts.body), not opts.json.
local cjson = require "cjson"

local M = {}

---------------------------------------------------------------------------
-- Locations
---------------------------------------------------------------------------

local function run(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  return out
end

-- Single-quote a word for /bin/sh.
local function q(s)
  return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'"
end

-- Repository root: this file is <root>/spec/support/sandbox.lua; fall back
-- to the current directory.
local function find_root()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or nil
  local root = dir and (dir:match("^(.*)/spec/support$") or (dir == "spec/support" and "."))
  root = root or "."
  if root:sub(1, 1) ~= "/" then
    root = run("cd " .. q(root) .. " && pwd"):gsub("%s+$", "")
  end
  return root
end

M.root = find_root()
M.ctl = M.root .. "/spec/sandbox/ctl"

-- Instance settings: the environment (same variables as spec/sandbox/ctl),
-- or M.use{} for a private instance (e.g. a self-test that must not reset
-- the shared sandbox other test processes are using).
--
-- Ports: the environment's USERUPD_SANDBOX_PORT, USERUPD_SANDBOX_TLS_PORT,
-- USERUPD_SELFTEST_PORT and USERUPD_OPENRESTY_PORT (tools/runspecs sets
-- them), else this checkout's own block (`spec/sandbox/ctl ports`, picked
-- free on first use), so two checkouts never share a sandbox.
local ports
function M.ports()
  if not ports then
    ports = {}
    local out = run(q(M.ctl) .. " ports")
    for name, value in out:gmatch("USERUPD_([%u_]+)_PORT=(%d+)") do
      ports[name:lower()] = value
    end
    assert(ports.sandbox and ports.sandbox_tls and ports.selftest
           and ports.openresty, "spec/sandbox/ctl ports: " .. out)
  end
  return ports
end

local cfg = {
  port = os.getenv("USERUPD_SANDBOX_PORT") or M.ports().sandbox,
  tls_port = os.getenv("USERUPD_SANDBOX_TLS_PORT") or M.ports().sandbox_tls,
  prefix = os.getenv("USERUPD_SANDBOX_PREFIX") or (M.root .. "/.sandbox"),
}

-- use{port=, tls_port=, prefix=}: point this helper (and ctl) elsewhere.
function M.use(t)
  for k, v in pairs(t) do cfg[k] = tostring(v) end
end

function M.url() return "http://127.0.0.1:" .. cfg.port end
function M.tls_url() return "https://127.0.0.1:" .. cfg.tls_port end
function M.ca() return cfg.prefix .. "/tls/ca.crt" end
function M.prefix() return cfg.prefix end

-- A QuestionPro client of the sandbox under api_key, unpaced (rate 0),
-- with opts' options on top: the client most journal specs use.
function M.questionpro(api_key, opts)
  local t = { api_key = api_key, base_url = M.url(), rate = 0 }
  for k, v in pairs(opts or {}) do t[k] = v end
  return require("userupd").questionpro(t)
end

-- Shell command running spec/sandbox/ctl for this instance.
local function ctl_command(verb)
  return ("USERUPD_SANDBOX_PORT=%s USERUPD_SANDBOX_TLS_PORT=%s USERUPD_SANDBOX_PREFIX=%s %s %s 2>&1")
    :format(q(cfg.port), q(cfg.tls_port), q(cfg.prefix), q(M.ctl), verb)
end

---------------------------------------------------------------------------
-- HTTP through curl
---------------------------------------------------------------------------

-- Headers of the last response block in a `curl -D` dump (skips 100-continue).
local function parse_headers(path)
  local f = io.open(path, "rb")
  if not f then return {} end
  local headers = {}
  for line in f:lines() do
    line = line:gsub("\r$", "")
    if line:find("^HTTP/") then
      headers = {}
    else
      local name, value = line:match("^([^:]+):%s*(.*)$")
      if name then headers[name:lower()] = value end
    end
  end
  f:close()
  return headers
end

local function curl_args(method, url, opts, header_file)
  local args = { "curl", "-sS", "-X", method, "-D", header_file, "-o", "-",
                 "-w", "\\n%{http_code} %{time_total}", "-m", tostring(opts.timeout or 30) }
  local function add(...) for _, a in ipairs({ ... }) do args[#args + 1] = a end end
  local body = opts.body
  if opts.json ~= nil then
    body = cjson.encode(opts.json)
    add("-H", "Content-Type: application/json")
  end
  for name, value in pairs(opts.headers or {}) do
    add("-H", value == false and (name .. ":") or (name .. ": " .. value))   -- false removes
  end
  if body then add("--data-binary", body) end
  if opts.user then add("-u", opts.user) end
  if opts.cacert then add("--cacert", opts.cacert) end
  for _, a in ipairs(opts.curl_args or {}) do add(a) end
  add(url)
  return args
end

-- http(method, path_or_url, opts) -> {status, body, headers, rc, time}
--   time: curl's total wall-clock seconds (pure Lua has only whole seconds).
--   opts: headers {name=value|false}, body (raw string), json (table),
--         user ("name:password" for Basic), cacert, timeout (s), curl_args.
--   status is 0 when no HTTP answer arrived; rc is curl's exit code
--   (52 empty reply, 18 partial body, 28 timeout, 60 untrusted certificate).
function M.http(method, url, opts)
  opts = opts or {}
  if url:sub(1, 1) == "/" then url = M.url() .. url end
  local header_file = os.tmpname()
  local words = {}
  for i, a in ipairs(curl_args(method, url, opts, header_file)) do words[i] = q(a) end
  local out = run(table.concat(words, " ") .. " 2>/dev/null; printf '\\n%d' $?")
  local headers = parse_headers(header_file)
  os.remove(header_file)
  local body, code, secs, rc = out:match("^(.*)\n(%d%d%d) ([%d.,]+)\n(%d+)$")
  if not body then body, code, secs, rc = "", "000", "0", out:match("(%d+)$") or "-1" end
  return { status = tonumber(code), body = body, headers = headers, rc = tonumber(rc),
           time = tonumber((secs:gsub(",", "."))) }
end

-- Decodes a response body; fails the test with the body if it is not JSON.
function M.decode(res)
  local ok, v = pcall(cjson.decode, res.body)
  if not ok then error("response is not JSON (" .. tostring(res.status) .. "): " .. res.body, 2) end
  return v
end

---------------------------------------------------------------------------
-- Lifecycle
---------------------------------------------------------------------------

function M.ping()
  local res = M.http("GET", "/_sandbox/ping", { timeout = 2 })
  return res.status == 200
end

-- Starts the sandbox unless ours already runs; safe to call many times.
-- Always asks ctl (about 30 ms when running): a sandbox that merely answers
-- on the port may be another checkout's, with another CA.
function M.start()
  local out = run(ctl_command("start") .. "; printf '\\n%d' $?")
  local rc = tonumber(out:match("(%d+)$"))
  if rc ~= 0 or not M.ping() then error("sandbox did not start: " .. out) end
  return true
end

function M.stop()
  run(ctl_command("stop"))
end

---------------------------------------------------------------------------
-- Admin API (/_sandbox/)
---------------------------------------------------------------------------

local function admin(method, path, body, allow_404)
  local opts = body and { body = cjson.encode(body), headers = { ["Content-Type"] = "application/json" } } or {}
  local res = M.http(method, "/_sandbox/" .. path, opts)
  if res.status == 404 and allow_404 then return nil end
  if res.status ~= 200 then
    error(("sandbox admin %s %s -> %s (curl rc %s): %s"):format(method, path, res.status, res.rc, res.body), 3)
  end
  return cjson.decode(res.body)
end

function M.reset() return admin("POST", "reset") end
-- config{bb_token_ttl=, delay_ms=, ti_limit=, ti_window=} -> current config
function M.config(t) return admin("POST", "config", t) end
-- fault{fault="503", count=N, every=K, path="substring", vendor=, method=}
function M.fault(t) return admin("POST", "faults", t) end
function M.faults() return admin("GET", "faults") end
function M.clear_faults() return admin("DELETE", "faults") end
function M.stats() return admin("GET", "stats") end
-- puts(vendor) -> {["<id>"] = successful PUTs}
function M.puts(vendor) return admin("GET", "puts?vendor=" .. vendor) end
-- user(vendor, id) -> stored user (vendor's user object) or nil
function M.user(vendor, id) return admin("GET", "user/" .. vendor .. "/" .. tostring(id), nil, true) end
-- last(vendor) -> {method, uri, headers (lowercase names), body (raw)} or nil
function M.last(vendor) return admin("GET", "last?vendor=" .. vendor, nil, true) end
function M.expire_bb_tokens() return admin("POST", "bb/expire") end

return M
