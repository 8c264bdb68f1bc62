-- wrk script: PUT the benchmark body with the client's headers.
-- luacheck: globals wrk
-- bench/run sets BENCH_BODY and BENCH_HEADERS to the files client.lua wrote.
local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

wrk.method = "PUT"
wrk.body = slurp(os.getenv("BENCH_BODY"))
for line in slurp(os.getenv("BENCH_HEADERS")):gmatch("[^\n]+") do
  local k, v = line:match("^([^:]+):%s*(.*)$")
  if k then wrk.headers[k] = v end
end
