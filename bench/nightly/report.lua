-- bench/nightly/report.lua: the nightly-sync table from the samples
-- bench/nightly/run wrote (one line per run: size client night round
-- wall cpu rss_kb journal).  Medians with min - max over the rounds.
local rows = {}
for line in io.lines(arg[1]) do
  local s = {}
  for k, v in line:gmatch("([%w_]+)=(%S+)") do s[k] = tonumber(v) or v end
  if not s.error then
    local key = ("%d %s %d"):format(s.size, s.client, s.night)
    rows[key] = rows[key] or {}
    table.insert(rows[key], s)
  end
end

local function median(list, field)
  local v = {}
  for i, s in ipairs(list) do v[i] = s[field] end
  table.sort(v)
  local n = #v
  local m = n % 2 == 1 and v[(n + 1) / 2] or (v[n / 2] + v[n / 2 + 1]) / 2
  return m, v[1], v[n]
end

local function thousands(n)
  local s = ("%d"):format(math.floor(n + 0.5))
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

local NAMES = { ["lua5.4"] = "userupd CLI, Lua 5.4",
                luajit = "userupd CLI, LuaJIT",
                python = "Python sync (bench/nightly/sync.py)" }
local sizes, seen = {}, {}
for key in pairs(rows) do
  local size = tonumber(key:match("^%d+"))
  if not seen[size] then seen[size], sizes[#sizes + 1] = true, size end
end
table.sort(sizes)

local out = {}
local function add(...) out[#out + 1] = table.concat({ ... }) end
add("#### Nightly sync (1% changed on night 2, canned 200 stub)\n")
add("| rows | client | night 2 wall s, median (min - max) | rows/s ",
    "| CPU s | × Python's wall | peak RSS MiB | journal bytes/row ",
    "| night 1 wall s (rows/s) |")
add("|---|---|---|---|---|---|---|---|---|")
for _, size in ipairs(sizes) do
  local py = rows[size .. " python 2"]
  local py_wall = py and median(py, "wall")
  for _, client in ipairs({ "lua5.4", "luajit", "python" }) do
    local n2, n1 = rows[("%d %s 2"):format(size, client)],
                   rows[("%d %s 1"):format(size, client)]
    if n2 then
      local wall, lo, hi = median(n2, "wall")
      local ratio = py_wall and ("%.2fx"):format(wall / py_wall) or "n/a"
      local first = "—"
      if n1 and client ~= "python" then
        local w = median(n1, "wall")
        first = ("%.1f (%s)"):format(w, thousands(size / w))
      elseif n1 then
        first = "primed, not sent"
      end
      add(("| %s | %s | %.2f (%.2f - %.2f) | %s | %.2f | %s | %.1f | %.0f | %s |")
        :format(thousands(size), NAMES[client], wall, lo, hi,
                thousands(size / wall), (median(n2, "cpu")), ratio,
                median(n2, "rss_kb") / 1024, median(n2, "journal") / size,
                first))
    end
  end
end
add("\nTarget: userupd's night 2 at 400,000 rows ≤ 0.25x the Python sync's ",
    "wall time; peak RSS at 400,000 rows ≤ 1.2x the RSS at 100,000.")
print(table.concat(out, "\n"))
