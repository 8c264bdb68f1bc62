-- userupd.cli.setup: the module, the vendor and a client, with messages
-- that name the one environment variable to set.  Credentials come from
-- USERUPD_<VENDOR>_<OPTION> or a --config file, never from arguments, and
-- no message prints their values.
local util = require "userupd.cli.util"

local fail = util.fail
local setup = {}

-- Names for people, and for the estimate before a run.
setup.TITLES = {
  questionpro = "QuestionPro", thoughtindustries = "Thought Industries",
  formsonfire = "Forms On Fire", smartermeasure = "SmarterMeasure",
  blackbaud = "Blackbaud",
}

function setup.load_module()
  local ok, userupd = pcall(require, "userupd")
  if not ok then
    fail("cannot load the userupd module: %s",
         (tostring(userupd):match("[^\n]*")))
  end
  return userupd
end

-- Vendor names for help texts.  The module may be missing (not built
-- yet); help must work anyway.
function setup.vendor_list()
  local ok, userupd = pcall(require, "userupd")
  if not ok or type(userupd.vendors) ~= "table" then
    return "the keys of userupd.vendors"
  end
  local names = {}
  for name in pairs(userupd.vendors) do names[#names + 1] = name end
  table.sort(names)
  return table.concat(names, ", ")
end

function setup.check_vendor(userupd, vendor)
  if type(userupd.vendors[vendor]) ~= "table" then
    local names = {}
    for name in pairs(userupd.vendors) do names[#names + 1] = name end
    table.sort(names)
    local near = util.nearest(vendor:gsub("[%s_%-]", ""), names)
    fail("unknown vendor '%s'%s; expected one of: %s", util.one_line(vendor),
         near and (" (did you mean '%s'?)"):format(near) or "",
         table.concat(names, ", "))
  end
end

function setup.env_name(vendor, option)
  return ("USERUPD_%s_%s"):format(vendor:upper(), option:upper())
end

local TRUE = { ["1"] = true, ["true"] = true, yes = true, on = true }
local FALSE = { ["0"] = false, ["false"] = false, no = false, off = false }

-- Converts an environment string to the option's type.  Messages name the
-- variable, never its value: it may be a secret.
local function from_env(raw, spec, var)
  local kind = spec.type or "string"
  if kind == "integer" then
    local n = tonumber(raw)
    if not n or n ~= math.floor(n) then fail("%s must be a whole number", var) end
    return math.tointeger and math.tointeger(n) or n
  elseif kind == "number" then
    return tonumber(raw) or fail("%s must be a number", var)
  elseif kind == "boolean" then
    local b = TRUE[raw:lower()]
    if b == nil then b = FALSE[raw:lower()] end
    if b == nil then fail("%s must be true or false", var) end
    return b
  end
  return raw
end

-- A --config file: Lua returning a table of client options.
local function load_config(path)
  if not path then return {} end
  local chunk, why = loadfile(path)
  if not chunk then fail("%s", util.load_error("--config", path, why)) end
  local ok, t = pcall(chunk)
  util.pass_interrupt(ok, t)
  if not ok then
    fail("%s", util.load_error("--config", path, t, true))
  end
  if type(t) ~= "table" then
    fail("--config %s must return a table of client options, got %s",
         util.one_line(path), type(t))
  end
  return t
end

-- "set USERUPD_X_NAME in the environment (or NAME in FILE)"
local function where_to_set(vendor, name, config)
  return ("set %s in the environment%s"):format(setup.env_name(vendor, name),
    config and (" or " .. name .. " in " .. config) or
      " (or use --config FILE)")
end

local function check_required(options, opts, vendor, config)
  local names = {}
  for name in pairs(options) do names[#names + 1] = name end
  table.sort(names) -- a stable message when several are missing
  for _, name in ipairs(names) do
    if options[name].required and opts[name] == nil then
      fail("missing %s %s for %s: %s",
           options[name].secret and "credential" or "option", name, vendor,
           where_to_set(vendor, name, config))
    end
  end
end

-- Client options: the --config file, then the environment, then flags.
-- origin[name] says where each came from ("flag --base-url",
-- "environment USERUPD_X_Y", "config FILE"); origin.overridden lists the
-- options set in two places, and which one won.
local function client_options(spec, vendor, args)
  local opts, origin = load_config(args.config), { overridden = {} }
  for name in pairs(opts) do origin[name] = "config " .. args.config end
  local function set(name, value, where)
    if opts[name] ~= nil and origin[name] and opts[name] ~= value then
      local o = origin.overridden
      o[#o + 1] = { name = name, won = where, lost = origin[name] }
    end
    opts[name], origin[name] = value, where
  end
  local names = {}
  for name in pairs(spec.options) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local var = setup.env_name(vendor, name)
    local raw = os.getenv(var)
    if raw and raw ~= "" then
      set(name, from_env(raw, spec.options[name], var), "environment " .. var)
    end
  end
  if args.base_url then set("base_url", args.base_url, "flag --base-url") end
  if args.rate then set("rate", args.rate, "flag --rate") end
  if args.blank == "clear" then opts.send_null = true end
  check_required(spec.options, opts, vendor, args.config)
  return opts, origin
end

-- The variables of the options a message names, in the order named.
local function named_vars(vendor, msg, spec)
  local vars, at = {}, {}
  for name in pairs(spec) do
    local i = msg:find("%f[%w_]" .. name .. "%f[^%w_]")
    if i then vars[#vars + 1], at[name] = name, i end
  end
  table.sort(vars, function(a, b) return at[a] < at[b] end)
  for i, name in ipairs(vars) do vars[i] = setup.env_name(vendor, name) end
  return vars
end

-- The module's constructor error as a sentence for people: no "bad
-- argument #1 to ...", and the variables to set for the options it names
-- (not every variable the vendor has).
local function client_error(vendor, msg, config, origin)
  msg = msg:gsub("^bad argument #%d+ to '[^']*' %((.*)%)$", "%1")
  local spec = require("userupd").vendors[vendor].options
  local name = msg:match("option '([%w_]+)'")
  if name and origin and origin[name] then     -- fix it where it came from
    return ("%s (%s came from %s)"):format(msg, name, origin[name])
  end
  if name and spec[name] then
    return ("%s: %s"):format(msg, where_to_set(vendor, name, config))
  end
  local vars = named_vars(vendor, msg, spec)
  if #vars == 0 then return msg end
  return ("%s (in the environment: %s%s)"):format(msg,
    table.concat(vars, ", "), config and ", or in " .. config or
                              "; or use --config FILE")
end

-- client, opts, origin (where each option came from, see client_options).
-- hooks: Lua hooks the CLI itself adds (on_attempt for --metrics-file);
-- one the --config file set too still runs, after ours.
function setup.make_client(userupd, vendor, args, hooks)
  local opts, origin = client_options(userupd.vendors[vendor], vendor, args)
  for name, fn in pairs(hooks or {}) do
    local theirs = opts[name]
    opts[name] = type(theirs) == "function"
      and function(...) fn(...) return theirs(...) end or fn
  end
  local ok, client = pcall(userupd.new, vendor, opts)
  if not ok then
    fail("cannot set up the %s client: %s", vendor,
         client_error(vendor, tostring(client), args.config, origin))
  end
  return client, opts, origin
end

-- Options that name the account rather than prove it: a password (or a
-- session token) is left out of the fingerprint, so a short hash printed
-- in a log cannot help anyone test password guesses; the username beside
-- it tells the accounts apart.
local NOT_IN_FINGERPRINT = { password = true, token = true }

-- A short fingerprint of the account: the first 8 hex digits of the
-- SHA-256 of the vendor and its identifying options (API keys, usernames,
-- company ids).  Never the credential; the same account gives the same
-- fingerprint on every run and machine.
function setup.fingerprint(userupd, vendor, opts)
  local spec, parts = userupd.vendors[vendor].options, {}
  local names = {}
  for name, o in pairs(spec) do
    if (o.secret or o.required) and not NOT_IN_FINGERPRINT[name] and
       opts[name] ~= nil then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  if #names == 0 then return nil end
  for i, name in ipairs(names) do
    parts[i] = name .. "=" .. tostring(opts[name])
  end
  return userupd.sha256("userupd account\0" .. vendor .. "\0" ..
                        table.concat(parts, "\0")):sub(1, 8), names
end

-- The endpoint the client sends to ("https://api.questionpro.com").
function setup.endpoint(client)
  return tostring(client):match(", (%a[%w+.-]*://[^)]*)%)$")
end

-- "target: QuestionPro at api.questionpro.com (vendor default), account
-- 3f9a1c2e (api_key from environment USERUPD_QUESTIONPRO_API_KEY)", and a
-- line for each option that two places set.  Lines for stderr.
function setup.target_lines(userupd, vendor, client, opts, origin)
  local url = setup.endpoint(client) or "?"
  local host = url:match("://([^/]+)") or url
  local where = origin.base_url or "vendor default" ..
    ((opts.subdomain or opts.datacenter or opts.school) and
     ", from its options" or "")
  local fp, names = setup.fingerprint(userupd, vendor, opts)
  local from = {}
  for i, name in ipairs(names or {}) do
    from[i] = ("%s from %s"):format(name, origin[name] or "?")
  end
  local lines = { ("target: %s at %s (%s), account %s%s"):format(
    setup.TITLES[vendor] or vendor, host, where, fp or "(none)",
    #from > 0 and " (" .. table.concat(from, ", ") .. ")" or "") }
  for _, o in ipairs(origin.overridden) do
    lines[#lines + 1] = ("note: %s: %s wins over %s (%s)"):format(o.name,
      o.won, o.lost, o.won:find("^flag") and "a flag wins over the " ..
      "environment and --config" or "the environment is read after " ..
      "--config")
  end
  for i, line in ipairs(lines) do   -- a --config path is text from outside
    lines[i] = util.one_line(line)
  end
  return lines
end

-- The variables holding the credentials this run used: what to check
-- after an authentication failure.
function setup.credential_vars(userupd, vendor, opts)
  local vars = {}
  for name, spec in pairs(userupd.vendors[vendor].options) do
    if spec.secret and opts[name] ~= nil then
      vars[#vars + 1] = setup.env_name(vendor, name)
    end
  end
  table.sort(vars)
  return table.concat(vars, " and ")
end

return setup
