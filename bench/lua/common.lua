-- common.lua: what every Lua child of bench/run shares: the module paths,
-- the benchmark user, the clients, and the one-line result format.
local M = {}

M.ru = require "rusage"
M.userupd = require "userupd"

-- The 8-field SmarterMeasure user: its body is 254 bytes, the shape the
-- issue's reference numbers were measured with.
M.ID = 10000001
M.FIELDS = {
  FirstName = "Alexandra Josephine",
  LastName = "Carter-Whitfield-Montgomery",
  Email = "alexandra.j.carter-whitfield@students.example.org",
  InternalID = "STU-2026-000123456-A",
  Gender = "F",
  EthnicityID = 13,
  AgeRange = "25-34 years",
  HowManyCoursesTaken = "12",
}

-- bench/run passes the sandbox's base URL in BENCH_URL.
M.URL = assert(os.getenv("BENCH_URL"), "BENCH_URL not set")

function M.client(vendor, opts)
  opts = opts or {}
  local o = { base_url = opts.base_url or (M.URL .. "/_fast/" .. vendor),
              allow_http = true, rate = 0, retries = 0 }
  if vendor == "smartermeasure" then
    o.username, o.password = "bench", "bench-secret"
  elseif vendor == "thoughtindustries" then
    o.api_key = "ti-bench-key"
  elseif vendor == "questionpro" then
    o.api_key = "qp-bench-key"
  end
  for k, v in pairs(opts) do o[k] = v end
  return M.userupd[vendor](o)
end

-- One result line: "k=v k=v ...", in a stable order.
function M.emit(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "number" then
      if v == math.floor(v) and v > -2^53 and v < 2^53 then
        v = string.format("%d", v)
      else
        v = string.format("%.6f", v)
      end
    end
    out[#out + 1] = k .. "=" .. tostring(v)
  end
  io.write(table.concat(out, " "), "\n")
  io.stdout:flush()
end

-- Runs fn() and returns its wall seconds and CPU (user+sys) seconds.
function M.measure(fn)
  local c0 = M.ru.cpu()
  local t0 = M.ru.now()
  local r1, r2 = fn()
  local secs = M.ru.now() - t0
  return secs, M.ru.cpu() - c0, r1, r2
end

return M
