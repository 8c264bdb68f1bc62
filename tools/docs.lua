-- tools/docs.lua: the parts of the documentation that are generated from
-- the module itself, so they list every option the constructors accept.
--
--   lua5.4 tools/docs.lua options   docs/reference.md's options tables (Markdown)
--   lua5.4 tools/docs.lua env       nginx `env` lines, one per USERUPD_* variable
--   lua5.4 tools/docs.lua --write   rewrites both generated blocks in place
--                                   (docs/reference.md, examples/openresty/nginx.conf)
--
-- Needs the module on package.cpath (make; LUA_CPATH='./?.so;;').
-- spec/unit/docs_spec.lua fails when a generated block is out of date.
local userupd = require "userupd"

local M = {}

-- What each option common to every vendor does, and its default.
local COMMON = {
  base_url = { "replaces scheme and host (the sandbox, a proxy, a region)", "the vendor's host" },
  timeout = { "seconds for one whole request", "30" },
  connect_timeout = { "seconds to connect", "10" },
  retries = { "retries of 408, 429, 502, 503, 504 and network failures", "3" },
  retry_base = { "first back-off in seconds (exponential, full jitter)", "0.5" },
  max_retry_wait = { "longest wait for a `Retry-After`, seconds", "60" },
  rate = { "requests per second (token bucket); 0 = no pacing", "the vendor's documented budget" },
  burst = { "token bucket size", "1" },
  max_connections = { "connections at once; 0 = no cap", "Forms On Fire 3, others 0" },
  max_response = { "largest answer accepted, bytes", "8 MiB" },
  max_string = { "longest string field, bytes", "64 KiB" },
  user_agent = { "User-Agent header", "`userupd/<version>`" },
  ca_file = { "CA bundle for TLS (always verified)", "libcurl's" },
  proxy = { "HTTP(S) proxy URL", "none" },
  allow_http = { "plain http:// to non-loopback hosts", "false" },
  http_version = { "`\"1.1\"` or `\"2\"`; absent: HTTP/2 where the server offers it (ALPN)", "negotiate" },
  send_null = { "send JSON `null` for `userupd.null` (refused otherwise where the seed documents no way to clear)", "false" },
  shared_budget = { "a file every client on the machine naming it shares one budget through (per vendor and credential), or a store object (see Shared budgets)", "none" },
  daily_quota = { "calls a day (UTC) before `update_many` stops, leaving the rest pending; 0 = none", "Forms On Fire 2500, others 0" },
}

local VENDORS = { "smartermeasure", "thoughtindustries", "blackbaud",
                  "formsonfire", "questionpro" }

function M.env_name(vendor, option)
  return ("USERUPD_%s_%s"):format(vendor:upper(), option:upper())
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- Options a vendor has beyond the common ones.
local function own_options(vendor)
  local own = {}
  for _, name in ipairs(sorted_keys(userupd.vendors[vendor].options)) do
    if not COMMON[name] and not M.common_names()[name] then
      own[#own + 1] = name
    end
  end
  return own
end

-- Names every vendor has: the common options.
function M.common_names()
  local common
  for _, vendor in ipairs(VENDORS) do
    local opts = userupd.vendors[vendor].options
    if not common then
      common = {}
      for name in pairs(opts) do common[name] = true end
    else
      for name in pairs(common) do
        if not opts[name] then common[name] = nil end
      end
    end
  end
  return common
end

local function vendor_rows(out)
  out[#out + 1] = "| vendor | option | type | required | variable |"
  out[#out + 1] = "|---|---|---|---|---|"
  for _, vendor in ipairs(VENDORS) do
    local opts = userupd.vendors[vendor].options
    for _, name in ipairs(own_options(vendor)) do
      local o = opts[name]
      out[#out + 1] = ("| %s | `%s` | %s%s | %s | `%s` |"):format(vendor, name,
        o.type or "string", o.secret and ", secret" or "",
        o.required and "yes" or "no", M.env_name(vendor, name))
    end
  end
end

local function common_rows(out)
  out[#out + 1] = "| option | type | default | what | variable |"
  out[#out + 1] = "|---|---|---|---|---|"
  local any = userupd.vendors.questionpro.options
  for _, name in ipairs(sorted_keys(M.common_names())) do
    local doc = COMMON[name] or { "", "" }
    out[#out + 1] = ("| `%s` | %s | %s | %s | `USERUPD_<VENDOR>_%s` |"):format(
      name, any[name].type or "string", doc[2], doc[1], name:upper())
  end
end

function M.options()
  local out = {}
  vendor_rows(out)
  out[#out + 1] = ""
  out[#out + 1] = "Every vendor also takes these (`<VENDOR>` is the vendor's name in capitals):"
  out[#out + 1] = ""
  common_rows(out)
  return table.concat(out, "\n") .. "\n"
end

-- Every USERUPD_* variable a client option can come from.
function M.variables()
  local vars = {}
  for _, vendor in ipairs(VENDORS) do
    for _, name in ipairs(sorted_keys(userupd.vendors[vendor].options)) do
      vars[#vars + 1] = M.env_name(vendor, name)
    end
  end
  return vars
end

function M.env()
  local out = {}
  for _, var in ipairs(M.variables()) do out[#out + 1] = "env " .. var .. ";" end
  return table.concat(out, "\n") .. "\n"
end

-- Replaces the text between the marker lines "<tag>:begin" and "<tag>:end".
function M.splice(text, tag, body)
  local b, e = text:find("[^\n]*" .. tag .. ":begin[^\n]*\n")
  local c = text:find("[^\n]*" .. tag .. ":end", e, false)
  assert(b and c, "no " .. tag .. ":begin/end markers")
  return text:sub(1, e) .. body .. text:sub(c)
end

local function rewrite(path, tag, body)
  local f = io.open(path, "rb")
  if not f then return end
  local text = f:read("*a")
  f:close()
  local new = M.splice(text, tag, body)
  if new ~= text then
    f = assert(io.open(path, "wb"))
    f:write(new)
    f:close()
    print("updated " .. path)
  end
end

local function main(what)
  if what == "options" then io.write(M.options())
  elseif what == "env" then io.write(M.env())
  elseif what == "--write" then
    rewrite("docs/reference.md", "options", M.options())
    rewrite("examples/openresty/nginx.conf", "env", M.env())
  else
    io.stderr:write("usage: tools/docs.lua options|env|--write\n")
    os.exit(2)
  end
end

-- Run as a script, the chunk's argument is the command; required or
-- loaded by a spec, it is a module name.
local first = ...
if first ~= "tools.docs" then main(first) end
return M
