-- bench/nightly/idset.lua: the CLI's duplicate check alone, userupd.idset()
-- beside a plain Lua table (what the CLI used before it), in one process,
-- interleaved rounds.  Not part of `make bench`; run it by hand:
--   LUA_CPATH='./?.so;;' lua5.4 bench/nightly/idset.lua [N [ROUNDS]]
-- N ids (400,000), in export order and in a scrambled order; prints the
-- median CPU microseconds per add of each.  Keys are made before timing.
local userupd = require "userupd"
local n = tonumber(arg[1]) or 400000
local rounds = tonumber(arg[2]) or 3

local function keys(order)
  local t = {}
  for i = 1, n do
    t[i] = tostring(order == "scrambled"
                    and (i * 2654435761) % 4294967291 + 100000 or 100000 + i)
  end
  return t
end

local function time_idset(k)
  local set = userupd.idset()
  local t = os.clock()
  for i = 1, n do set:add(k[i], i) end
  t = os.clock() - t
  assert(set:add(k[1], 0) == 1 and set:add(k[n], 0) == n)
  set:close()
  return t
end

local function time_table(k)
  local seen = {}
  local t = os.clock()
  for i = 1, n do
    local key = k[i]
    if not seen[key] then seen[key] = i end
  end
  return os.clock() - t
end

local function median(t)
  table.sort(t)
  return t[math.floor((#t + 1) / 2)]
end

for _, order in ipairs({ "export", "scrambled" }) do
  local k = keys(order)
  local a, b = {}, {}
  for r = 1, rounds do
    a[r] = time_idset(k)
    b[r] = time_table(k)
    collectgarbage()
  end
  print(("%d ids, %s order: idset %.3f us/add, Lua table %.3f us/add " ..
         "(median of %d)"):format(n, order, median(a) / n * 1e6,
                                  median(b) / n * 1e6, rounds))
end
