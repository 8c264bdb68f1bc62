-- Small helpers shared by the sandbox modules (id formats, clocks, names).
local M = {}

local floor, format = math.floor, string.format

local HEX8 = string.rep("%x", 8)
local UUID_PATTERN = "^" .. HEX8 .. "%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-" .. HEX8 .. "%x%x%x%x$"
local HEX32_PATTERN = "^" .. string.rep("%x", 32) .. "$"

-- 8-4-4-4-12 hex, any case (Thought Industries ids, TI uuid fields).
function M.is_uuid(s)
  return type(s) == "string" and s:find(UUID_PATTERN) ~= nil
end

-- Forms On Fire GUIDs: 32 hex digits, with or without the dashes.
-- Returns the canonical form (lowercase, no dashes) or nil.
function M.guid32(s)
  if type(s) ~= "string" then return nil end
  if M.is_uuid(s) then s = s:gsub("%-", "") end
  if not s:find(HEX32_PATTERN) then return nil end
  return s:lower()
end

-- Positive integer written in decimal (path ids). Capped at 15 digits so the
-- value stays exact in a Lua double.
function M.is_pos_int(s)
  return type(s) == "string" and #s <= 15 and s:find("^[1-9]%d*$") ~= nil
end

-- The sandbox's not-found rule: these ids never exist.
function M.missing_int(id) return tonumber(id) >= 900000000 end
function M.missing_hex(id) return id:sub(1, 8):lower() == "ffffffff" end

-- Credentials: anything is accepted unless it starts with "bad".
-- "badperm..." means "valid key, no permission" (403 where the vendor has one).
function M.cred_state(value)
  if type(value) ~= "string" or value == "" then return "missing" end
  if value:sub(1, 7) == "badperm" then return "forbidden" end
  if value:sub(1, 3) == "bad" then return "bad" end
  return "ok"
end

-- nginx's $request_id (32 random hex) shaped as a UUID: X-Request-Id and
-- QuestionPro's requestID.
function M.request_uuid()
  local h = ngx.var.request_id
  return format("%s-%s-4%s-a%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(14, 16),
                h:sub(18, 20), h:sub(21, 32))
end

-- Clocks in the formats the seeds show.
function M.iso_seconds(t)            -- SmarterMeasure: 2026-03-20T18:40:08Z
  return os.date("!%Y-%m-%dT%H:%M:%SZ", floor(t or ngx.now()))
end

function M.iso_millis(t)             -- Thought Industries: ...T00:00:00.000Z
  t = t or ngx.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", floor(t)) .. format(".%03dZ", floor(t % 1 * 1000))
end

function M.iso_7digits(t)            -- Forms On Fire: ...T06:24:03.9630000Z
  t = t or ngx.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", floor(t)) .. format(".%07dZ", floor(t % 1 * 1e7))
end

-- Plausible, deterministic default names: the same id always gets the same
-- person, so tests can predict untouched users.
local FIRST = { "Alice", "Bruno", "Chen", "Dana", "Elif", "Farah", "Goran", "Hana",
                "Ivan", "Jonas", "Keiko", "Liam", "Maya", "Nils", "Olga", "Priya" }
local LAST = { "Carter", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak",
               "Haddad", "Kowalski", "Brennan", "Iyer", "Fischer", "Nakamura", "Reyes" }

function M.person(id)
  local h = ngx.crc32_short(tostring(id))
  local first, last = FIRST[h % #FIRST + 1], LAST[floor(h / 16) % #LAST + 1]
  local slug = tostring(id):gsub("%-", ""):sub(1, 12):lower()
  return {
    first = first, last = last,
    email = format("%s.%s.%s@example.com", first:lower(), last:lower(), slug),
    hash = h,
  }
end

-- Shallow copy (stored deltas are merged into fresh copies of templates).
function M.copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return setmetatable(c, getmetatable(t))
end

-- Deep copy for template tables with nested arrays/objects.
function M.deep_copy(v, depth)
  depth = depth or 0
  if type(v) ~= "table" or depth > 20 then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = M.deep_copy(x, depth + 1) end
  return setmetatable(c, getmetatable(v))
end

-- Sorted keys of a table: deterministic iteration for error messages.
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- E(kind, msg [, extra]) -> error value. The vendor module maps `kind`
-- (bad_url, bad_body, invalid, unauthorized, forbidden, not_found, no_route,
-- method, or a status such as "429") to its own status and error shape.
function M.E(kind, msg, extra)
  local e = extra or {}
  e.kind, e.msg = kind, msg
  return e
end

-- Routing for vendors whose user id is the last path segment.
--   pattern: Lua pattern capturing the id; id_ok(id) -> bool;
--   ops: method -> operation name; normalize(id) -> storage key.
function M.path_route(ctx, pattern, id_ok, ops, normalize)
  local id = ctx.uri:match(pattern)
  if not id then return nil, M.E("no_route", "No such resource: " .. ctx.uri) end
  local op = ops[ctx.method]
  if not op then
    return nil, M.E("method", ("Method %s is not allowed on %s"):format(ctx.method, ctx.uri))
  end
  if not id_ok(id) then return nil, M.E("bad_url", ("Invalid user id '%s' in the path"):format(id)) end
  return { op = op, id = id, key = normalize and normalize(id) or id }
end

return M
