-- Field checks: each vendor module lists its request fields as
--   Name = { type = "<kind>", ... }
-- with the types the seed documents. validate() returns nil or a message that
-- names the offending field (the sandbox's 400 answers quote it).
local json = require "sbx.json"
local util = require "sbx.util"

local M = {}

local floor, concat = math.floor, table.concat
local MAX_INT = 2 ^ 53

local function is_integer(v)
  return type(v) == "number" and floor(v) == v and v > -MAX_INT and v < MAX_INT
end

-- BirthDate: YYYY-MM-DD, or an ISO-8601 date-time.
local function is_date(s)
  if type(s) ~= "string" then return false end
  local y, m, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return false end
  m, d = tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 or d > 31 then return false end
  if rest == "" then return true end
  local hh, mm, ss, tail = rest:match("^T(%d%d):(%d%d):(%d%d)(.*)$")
  if not hh or tonumber(hh) > 23 or tonumber(mm) > 59 or tonumber(ss) > 60 then return false end
  tail = tail:gsub("^%.%d+", "")
  return tail == "" or tail == "Z" or tail:find("^[-+]%d%d:%d%d$") ~= nil
end

-- Scalar kinds: predicate and the phrase used in error messages.
local SCALARS = {
  string  = { function(v) return type(v) == "string" end, "a string" },
  integer = { is_integer, "an integer" },
  number  = { function(v) return type(v) == "number" end, "a number" },
  boolean = { function(v) return type(v) == "boolean" end, "true or false" },
  uuid    = { util.is_uuid, "a UUID" },
  guid    = { function(v) return util.guid32(v) ~= nil end, "a GUID (32 hex digits, dashes optional)" },
  date    = { is_date, "a date (YYYY-MM-DD or ISO-8601 date-time)" },
  -- TI sfContactId/sfAccountId: the seed says uuid, Salesforce ids are 15
  -- or 18 letters and digits; both are accepted, as the client does.
  sfid    = { function(v)
                return util.is_uuid(v) or (type(v) == "string" and (#v == 15 or #v == 18)
                                           and v:find("^%w+$") ~= nil)
              end, "a UUID or a Salesforce id (15 or 18 letters and digits)" },
}

local function check_enum(name, spec, v)
  for _, allowed in ipairs(spec.values) do if v == allowed then return nil end end
  return ("Field '%s' must be one of %s"):format(name, concat(spec.values, ", "))
end

local LIST_OF = { string = "strings", uuid = "UUIDs" }

local function check_list(name, spec, v)
  if not json.is_array(v) then
    return ("Field '%s' must be an array of %s"):format(name, LIST_OF[spec.of] or spec.of)
  end
  local ok = SCALARS[spec.of][1]
  for i, item in ipairs(v) do
    if not ok(item) then
      return ("Field '%s' item %d must be %s"):format(name, i, SCALARS[spec.of][2])
    end
  end
  return nil
end

-- Forms On Fire Metadata: [{"Key":string[,"Value":string]}, ...]. The seed's
-- only example is [{"Key":"NameEUI"}]: it never names the value member, so
-- Value is our guess and may be left out.
local function check_metadata(name, v)
  if not json.is_array(v) then return ("Field '%s' must be an array"):format(name) end
  for i, item in ipairs(v) do
    if not json.is_object(item) then
      return ("Field '%s' item %d must be an object {Key, Value}"):format(name, i)
    end
    for k in pairs(item) do
      if k ~= "Key" and k ~= "Value" then
        return ("Field '%s' item %d has unknown member '%s'"):format(name, i, k)
      end
    end
    if type(item.Key) ~= "string" or (item.Value ~= nil and type(item.Value) ~= "string") then
      return ("Field '%s' item %d needs a string Key (and a string Value, if any)"):format(name, i)
    end
  end
  return nil
end

-- Blackbaud FieldsToNull: a list of names from spec.names (a set).
local function check_field_names(name, spec, v)
  if not json.is_array(v) then return ("Field '%s' must be an array of field names"):format(name) end
  for i, item in ipairs(v) do
    if type(item) ~= "string" or not spec.names[item] then
      return ("Field '%s' item %d (%s) is not a field that can be cleared")
        :format(name, i, tostring(item))
    end
  end
  return nil
end

-- JSON null: no seed documents it as a way to clear a field (Blackbaud's
-- is FieldsToNull), so a scalar may be null only when the client says it
-- means it (allow_null: the X-Userupd-Send-Null header, see engine.lua).
local function check_null(name, spec, allow_null)
  if not (SCALARS[spec.type] or spec.type == "enum") then
    return ("Field '%s' cannot be null"):format(name)
  end
  if allow_null then return nil end
  return ("Field '%s' is null, but this API documents no way to clear a field "
          .. "with null (the sandbox accepts null only with the X-Userupd-Send-Null "
          .. "header, sent by a client with send_null = true)"):format(name)
end

-- check(name, spec, value [, allow_null]) -> nil | message
function M.check(name, spec, v, allow_null)
  local t = spec.type
  if v == json.null then return check_null(name, spec, allow_null) end
  if SCALARS[t] then
    if SCALARS[t][1](v) then return nil end
    return ("Field '%s' must be %s"):format(name, SCALARS[t][2])
  end
  if t == "enum" then
    if type(v) ~= "string" then return ("Field '%s' must be a string"):format(name) end
    return check_enum(name, spec, v)
  end
  if t == "list" then return check_list(name, spec, v) end
  if t == "object" then
    if json.is_object(v) then return nil end
    return ("Field '%s' must be a JSON object"):format(name)
  end
  if t == "metadata" then return check_metadata(name, v) end
  if t == "field_names" then return check_field_names(name, spec, v) end
  error("schema: unknown type " .. tostring(t))
end

-- validate(body, fields [, allow_null]) -> nil | message. Unknown keys are errors: the
-- client must send only what the seed documents.
function M.validate(body, fields, allow_null)
  for _, name in ipairs(util.sorted_keys(body)) do
    local spec = fields[name]
    if not spec then return ("Unknown field '%s'"):format(name) end
    local msg = M.check(name, spec, body[name], allow_null)
    if msg then return msg end
  end
  for _, name in ipairs(util.sorted_keys(fields)) do
    if fields[name].required and body[name] == nil then
      local hint = fields[name].type == "list" and " (an array; send [] for none)" or ""
      return ("Field '%s' is required%s"):format(name, hint)
    end
  end
  return nil
end

return M
