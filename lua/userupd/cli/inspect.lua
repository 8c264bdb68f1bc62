-- userupd.cli.inspect: the commands that look without sending.
--
--   userupd fields VENDOR [--format text|json]   every field of the vendor
--   userupd get VENDOR ID [--config F] [--base-url URL]
--                                                the vendor's current record
--
-- `fields` reads userupd.vendors[VENDOR].field_info, which the module
-- builds from the vendor's descriptor: the command, the docs (docs/cli.md,
-- checked by spec/cli/cli_inspect_spec.lua) and the library cannot drift.
local util = require "userupd.cli.util"
local setup = require "userupd.cli.setup"

local out, err_line = util.out, util.err_line
local inspect = {}

local function list_kind(info)
  local t = info.type
  if t == "object" then return "object" end
  if t:find("list$") or t == "field names" then return "list" end
  return "-"
end

-- Whether the vendor documents a way to clear the field.
local function clearing(name, info, null_list)
  if info.no_null then
    return list_kind(info) == "list" and "no (send {} to empty it)" or "no"
  end
  if null_list and name ~= null_list then return "yes, " .. null_list end
  if null_list and name == null_list then return "-" end
  return "not documented"
end

local function notes(info)
  local t = {}
  if info.choices then t[#t + 1] = "one of " .. info.choices:gsub("|", ", ") end
  if info.secret then t[#t + 1] = "secret: never shown" end
  if info.required_list then t[#t + 1] = "sent as [] when absent" end
  if info.replaces then
    t[#t + 1] = "true needs " .. info.replaces:gsub("|", ", ")
  end
  if info.reply then t[#t + 1] = "the record calls it " .. info.reply end
  return table.concat(t, "; ")
end

-- The rows of `userupd fields VENDOR`, as lists of cells.
function inspect.field_rows(userupd, vendor)
  local v = userupd.vendors[vendor]
  local rows = { { "FIELD", "TYPE", "LIST/OBJECT", "CROSS-VENDOR", "CLEARING",
                   "NOTES" } }
  for _, name in ipairs(v.fields) do
    local info = v.field_info[name]
    rows[#rows + 1] = { name, info.type, list_kind(info), info.cross or "-",
                        clearing(name, info, v.null_list), notes(info) }
  end
  return rows
end

-- The text table, columns padded, no trailing blanks.
function inspect.fields_text(userupd, vendor)
  local rows, width = inspect.field_rows(userupd, vendor), {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do
      width[i] = math.max(width[i] or 0, #cell)
    end
  end
  local lines = {}
  for r, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do
      cells[i] = i < #row and cell .. (" "):rep(width[i] - #cell) or cell
    end
    lines[r] = (table.concat(cells, "  "):gsub("%s+$", ""))
  end
  return table.concat(lines, "\n")
end

local function vendor_of(userupd, name)
  local vendor = tostring(name):lower()
  setup.check_vendor(userupd, vendor)
  return vendor
end

function inspect.fields(args)
  local userupd = setup.load_module()
  local vendor = vendor_of(userupd, args.vendor)
  if args.format == "json" then
    local v, list = userupd.vendors[vendor], {}
    for i, name in ipairs(v.fields) do
      local info = {}
      for k, x in pairs(v.field_info[name]) do info[k] = x end
      info.name = name
      info.list = list_kind(info) == "list"
      info.object = info.type == "object"
      info.clearing = clearing(name, info, v.null_list)
      list[i] = info
    end
    out(userupd.json_encode(list))
  else
    out(("%s: %d fields (userupd.vendors.%s.field_info)"):format(
      setup.TITLES[vendor] or vendor, #userupd.vendors[vendor].fields, vendor))
    out(inspect.fields_text(userupd, vendor))
  end
  return 0
end

function inspect.get(args)
  local userupd = setup.load_module()
  local vendor = vendor_of(userupd, args.vendor)
  local client, opts, origin = setup.make_client(userupd, vendor, args)
  local id = args.id
  if userupd.vendors[vendor].id == "integer" and id:find("^%d+$") then
    id = tonumber(id) or id
  end
  local req, bad = client:prepare(id, {})    -- a bad id: a usage error
  if not req and type(bad) == "table" and bad.field == "id" then
    util.fail("get %s: %s", util.one_line(args.id), util.describe_error(bad))
  end
  for _, line in ipairs(setup.target_lines(userupd, vendor, client, opts,
                                           origin)) do
    err_line(line)
  end
  local user, e = client:get(id)
  if not user then
    err_line(("userupd: get %s at %s: %s"):format(util.one_line(args.id),
      setup.TITLES[vendor] or vendor, util.describe_error(e)))
    return (type(e) == "table" and e.kind == "invalid") and 2 or 1
  end
  out(userupd.json_encode(user))
  return 0
end

-- The commands' arguments (cli.lua adds them to its parser).
function inspect.add_commands(parser, vendors, add_client_options)
  local f = parser:command("fields", "Print every field VENDOR takes: " ..
    "name, type, list or object, cross-vendor name, whether clearing is " ..
    "documented.", "The same table is in docs/cli.md; the library has it " ..
    "as userupd.vendors.VENDOR.field_info.")
  f:argument("vendor", "One of: " .. vendors .. "."):argname "VENDOR"
  f:option("--format", "Output format.")
    :choices({ "text", "json" }):default("text")
  local g = parser:command("get", "Print the vendor's current record for " ..
    "ID as JSON (one read; counts against the vendor's budget).",
    "Credentials as for apply: USERUPD_<VENDOR>_<OPTION> or --config.")
  g:argument("vendor", "One of: " .. vendors .. "."):argname "VENDOR"
  g:argument("id", "The user's id at the vendor."):argname "ID"
  add_client_options(g)
  return { fields = f, get = g }
end

return inspect
