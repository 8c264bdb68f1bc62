-- A JSON-shaped answer as XML, for Forms On Fire's ?format=xml (seed 003:
-- "Specify either XML or JSON"). The seed shows no XML answer, so the shape
-- is the sandbox's choice: one element per JSON member, in alphabetical
-- order (vendors.md: the API's XML is alphabetical), array items as <Item>,
-- null as an empty element, the whole under <Response>.
local json = require "sbx.json"

local M = {}

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }
local function text(s) return (s:gsub('[&<>"]', ESC)) end

local encode

local function scalar(v)
  if v == json.null or v == nil then return "" end
  if type(v) == "number" then return json.encode(v) end
  return text(tostring(v))
end

local function element(name, v, out)
  out[#out + 1] = "<" .. name .. ">"
  encode(v, out)
  out[#out + 1] = "</" .. name .. ">"
end

function encode(v, out)
  if type(v) ~= "table" or v == json.null then
    out[#out + 1] = scalar(v)
  elseif json.is_array(v) or (getmetatable(v) == nil and v[1] ~= nil) then
    for _, item in ipairs(v) do element("Item", item, out) end
  else
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do element(k, v[k], out) end
  end
end

-- encode(value) -> '<?xml ...?><Response>...</Response>'
function M.encode(v)
  local out = { '<?xml version="1.0" encoding="utf-8"?>' }
  element("Response", v, out)
  return table.concat(out)
end

return M
