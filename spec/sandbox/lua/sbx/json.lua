-- Strict JSON reader and ordered writer for the vendor sandbox.
--
-- Why not cjson: Debian's lua-cjson 2.1.0 decodes [] and {} to the same empty
-- table and encodes every empty table as {}. The sandbox must tell an empty
-- list from an empty object (a client that sends "courseIds":{} is wrong), so
-- decoded arrays and objects carry distinct metatables here.
--
-- The reader is strict on purpose: it rejects what a lenient server might
-- accept (trailing commas, duplicate keys, bad escapes, invalid UTF-8), because
-- the sandbox exists to catch client bugs.
local M = {}

local byte, sub, find, char = string.byte, string.sub, string.find, string.char
local concat, sort, format = table.concat, table.sort, string.format
local floor, huge = math.floor, math.huge

M.ARRAY = { __jsontype = "array" }
M.OBJECT = { __jsontype = "object" }
-- JSON null: a unique sentinel so it survives inside Lua tables.
M.null = setmetatable({}, { __tostring = function() return "null" end })

local MAX_DEPTH = 64

function M.array(t) return setmetatable(t or {}, M.ARRAY) end
function M.object(t) return setmetatable(t or {}, M.OBJECT) end
function M.is_array(v) return type(v) == "table" and getmetatable(v) == M.ARRAY end
function M.is_object(v) return type(v) == "table" and getmetatable(v) == M.OBJECT end

---------------------------------------------------------------------------
-- UTF-8 validation (RFC 3629): done once over the raw text before parsing.
---------------------------------------------------------------------------

-- Length and valid range of the 2nd byte for each lead byte class.
local function utf8_seq(b)
  if b >= 0xC2 and b <= 0xDF then return 2, 0x80, 0xBF end
  if b == 0xE0 then return 3, 0xA0, 0xBF end          -- no overlongs
  if b == 0xED then return 3, 0x80, 0x9F end          -- no surrogates
  if b >= 0xE1 and b <= 0xEF then return 3, 0x80, 0xBF end
  if b == 0xF0 then return 4, 0x90, 0xBF end
  if b >= 0xF1 and b <= 0xF3 then return 4, 0x80, 0xBF end
  if b == 0xF4 then return 4, 0x80, 0x8F end          -- max U+10FFFF
  return nil
end

-- Returns nil when valid, else the byte offset of the first bad sequence.
function M.utf8_error(s)
  local i, n = 1, #s
  while i <= n do                     -- bounded: i grows by >= 1 per pass
    local a = find(s, "[\128-\255]", i)
    if not a then return nil end
    local len, lo, hi = utf8_seq(byte(s, a))
    if not len or a + len - 1 > n then return a end
    local b2 = byte(s, a + 1)
    if b2 < lo or b2 > hi then return a end
    for k = a + 2, a + len - 1 do
      local b = byte(s, k)
      if b < 0x80 or b > 0xBF then return a end
    end
    i = a + len
  end
  return nil
end

---------------------------------------------------------------------------
-- Reader
---------------------------------------------------------------------------

local function fail(pos, msg)
  error({ json_error = msg .. " at byte " .. pos }, 0)
end

local function skip_ws(s, pos)
  local _, e = find(s, "^[ \t\r\n]*", pos)
  return e + 1
end

local ESCAPES = {
  ['"'] = '"', ["\\"] = "\\", ["/"] = "/",
  b = "\b", f = "\f", n = "\n", r = "\r", t = "\t",
}

local function utf8_char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then
    return char(0xC0 + floor(cp / 0x40), 0x80 + cp % 0x40)
  end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40,
                0x80 + cp % 0x40)
  end
  return char(0xF0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40,
              0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

-- Reads the 4 hex digits after "\u" at pos (pos points at the backslash).
local function hex4(s, pos)
  local h = sub(s, pos + 2, pos + 5)
  if not find(h, "^%x%x%x%x$") then fail(pos, "invalid \\u escape") end
  return tonumber(h, 16)
end

-- Decodes \uXXXX (and a following low surrogate); returns text, next pos.
local function parse_unicode(s, pos)
  local cp = hex4(s, pos)
  if cp >= 0xDC00 and cp <= 0xDFFF then fail(pos, "lone low surrogate") end
  if cp >= 0xD800 and cp <= 0xDBFF then
    if sub(s, pos + 6, pos + 7) ~= "\\u" then fail(pos, "lone high surrogate") end
    local lo = hex4(s, pos + 6)
    if lo < 0xDC00 or lo > 0xDFFF then fail(pos, "bad surrogate pair") end
    return utf8_char(0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)), pos + 12
  end
  return utf8_char(cp), pos + 6
end

local function parse_string(s, pos)          -- pos is at the opening quote
  local parts, i = {}, pos + 1
  while true do                              -- bounded: i only moves forward
    local a = find(s, '[%z\1-\31"\\]', i)
    if not a then fail(pos, "unterminated string") end
    parts[#parts + 1] = sub(s, i, a - 1)
    local c = sub(s, a, a)
    if c == '"' then return concat(parts), a + 1 end
    if c ~= "\\" then fail(a, "control character in string") end
    local e = sub(s, a + 1, a + 1)
    if ESCAPES[e] then
      parts[#parts + 1] = ESCAPES[e]
      i = a + 2
    elseif e == "u" then
      parts[#parts + 1], i = parse_unicode(s, a)
    else
      fail(a, "invalid escape")
    end
  end
end

local function parse_number(s, pos)
  local _, e = find(s, "^-?%d+", pos)
  if not e then fail(pos, "invalid value") end
  if find(s, "^-?0%d", pos) then fail(pos, "leading zero in number") end
  local _, f = find(s, "^%.%d+", e + 1)
  if f then e = f elseif sub(s, e + 1, e + 1) == "." then fail(e + 1, "bad fraction") end
  local _, x = find(s, "^[eE][-+]?%d+", e + 1)
  if x then e = x elseif find(s, "^[eE]", e + 1) then fail(e + 1, "bad exponent") end
  local n = tonumber(sub(s, pos, e))
  if n == huge or n == -huge then fail(pos, "number out of range") end
  return n, e + 1
end

local parse_value

local function parse_array(s, pos, depth)
  local arr, n = M.array(), 0
  pos = skip_ws(s, pos + 1)
  if sub(s, pos, pos) == "]" then return arr, pos + 1 end
  while true do                              -- bounded by input length
    n = n + 1
    arr[n], pos = parse_value(s, pos, depth)
    pos = skip_ws(s, pos)
    local c = sub(s, pos, pos)
    if c == "]" then return arr, pos + 1 end
    if c ~= "," then fail(pos, "expected ',' or ']'") end
    pos = skip_ws(s, pos + 1)
  end
end

local function parse_object(s, pos, depth)
  local obj = M.object()
  pos = skip_ws(s, pos + 1)
  if sub(s, pos, pos) == "}" then return obj, pos + 1 end
  while true do                              -- bounded by input length
    if sub(s, pos, pos) ~= '"' then fail(pos, "expected a string key") end
    local key
    key, pos = parse_string(s, pos)
    if obj[key] ~= nil then fail(pos, "duplicate key '" .. key .. "'") end
    pos = skip_ws(s, pos)
    if sub(s, pos, pos) ~= ":" then fail(pos, "expected ':'") end
    obj[key], pos = parse_value(s, skip_ws(s, pos + 1), depth)
    pos = skip_ws(s, pos)
    local c = sub(s, pos, pos)
    if c == "}" then return obj, pos + 1 end
    if c ~= "," then fail(pos, "expected ',' or '}'") end
    pos = skip_ws(s, pos + 1)
  end
end

local LITERALS = { t = { "true", true }, f = { "false", false }, n = { "null", M.null } }

function parse_value(s, pos, depth)
  if depth > MAX_DEPTH then fail(pos, "nesting too deep") end
  local c = sub(s, pos, pos)
  if c == "{" then return parse_object(s, pos, depth + 1) end
  if c == "[" then return parse_array(s, pos, depth + 1) end
  if c == '"' then return parse_string(s, pos) end
  local lit = LITERALS[c]
  if lit then
    if sub(s, pos, pos + #lit[1] - 1) ~= lit[1] then fail(pos, "invalid literal") end
    return lit[2], pos + #lit[1]
  end
  return parse_number(s, pos)
end

-- decode(text) -> value | nil, "error message"
function M.decode(s)
  if type(s) ~= "string" then return nil, "no body" end
  local bad = M.utf8_error(s)
  if bad then return nil, "invalid UTF-8 at byte " .. bad end
  local ok, value, pos = pcall(function()
    local v, p = parse_value(s, skip_ws(s, 1), 0)
    return v, skip_ws(s, p)
  end)
  if not ok then
    if type(value) == "table" then return nil, value.json_error end
    error(value, 0)                           -- a bug in this module: re-raise
  end
  if pos <= #s then return nil, "trailing data at byte " .. pos end
  return value
end

---------------------------------------------------------------------------
-- Writer. Object keys are written in the order given by `rank` (a map
-- key -> number, usually built from the vendor's documented example), then
-- alphabetically, so answers look like the seed documents.
---------------------------------------------------------------------------

local ESC_OUT = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function escape_char(c)
  return ESC_OUT[c] or format("\\u%04x", byte(c))
end

local function encode_string(s)
  return '"' .. (s:gsub('[%z\1-\31"\\\127]', escape_char)) .. '"'
end

local function encode_number(n)
  if n ~= n or n == huge or n == -huge then error("cannot encode " .. tostring(n)) end
  if floor(n) == n and n > -1e15 and n < 1e15 then return format("%d", n) end
  return format("%.17g", n)
end

local function is_array_table(t)
  local mt = getmetatable(t)
  if mt == M.ARRAY then return true end
  if mt == M.OBJECT then return false end
  return t[1] ~= nil
end

local function sorted_keys(t, rank)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  local BIG = 1e9
  sort(keys, function(a, b)
    local ra, rb = rank[a] or BIG, rank[b] or BIG
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  return keys
end

local encode_value

local function encode_table(t, rank, out)
  if is_array_table(t) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], rank, out)
    end
    out[#out + 1] = "]"
    return
  end
  out[#out + 1] = "{"
  for i, k in ipairs(sorted_keys(t, rank)) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = encode_string(k)
    out[#out + 1] = ":"
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end   -- numeric keys were stringified
    encode_value(v, rank, out)
  end
  out[#out + 1] = "}"
end

function encode_value(v, rank, out)
  local tv = type(v)
  if v == M.null or v == nil then out[#out + 1] = "null"
  elseif tv == "string" then out[#out + 1] = encode_string(v)
  elseif tv == "number" then out[#out + 1] = encode_number(v)
  elseif tv == "boolean" then out[#out + 1] = tostring(v)
  elseif tv == "table" then encode_table(v, rank, out)
  else error("cannot encode a " .. tv) end
end

-- encode(value [, rank]) -> text
function M.encode(v, rank)
  local out = {}
  encode_value(v, rank or {}, out)
  return concat(out)
end

-- rank_of({"a","b",...}) -> {a=1, b=2, ...}: a key order for encode().
function M.rank_of(list)
  local r = {}
  for i, k in ipairs(list) do if r[k] == nil then r[k] = i end end
  return r
end

return M
