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
    fail("unknown vendor '%s'; expected one of: %s", vendor,
         setup.vendor_list())
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
local function client_options(spec, vendor, args)
  local opts = load_config(args.config)
  for name, option in pairs(spec.options) do
    local var = setup.env_name(vendor, name)
    local raw = os.getenv(var)
    if raw and raw ~= "" then opts[name] = from_env(raw, option, var) end
  end
  if args.base_url then opts.base_url = args.base_url end
  if args.rate then opts.rate = args.rate end
  if args.blank == "clear" then opts.send_null = true end
  check_required(spec.options, opts, vendor, args.config)
  return opts
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
local function client_error(vendor, msg, config)
  msg = msg:gsub("^bad argument #%d+ to '[^']*' %((.*)%)$", "%1")
  local spec = require("userupd").vendors[vendor].options
  local name = msg:match("option '([%w_]+)'")
  if name and spec[name] then
    return ("%s: %s"):format(msg, where_to_set(vendor, name, config))
  end
  local vars = named_vars(vendor, msg, spec)
  if #vars == 0 then return msg end
  return ("%s (in the environment: %s%s)"):format(msg,
    table.concat(vars, ", "), config and ", or in " .. config or
                              "; or use --config FILE")
end

function setup.make_client(userupd, vendor, args)
  local opts = client_options(userupd.vendors[vendor], vendor, args)
  local ok, client = pcall(userupd.new, vendor, opts)
  if not ok then
    fail("cannot set up the %s client: %s", vendor,
         client_error(vendor, tostring(client), args.config))
  end
  return client, opts
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
