-- One process of the shared-budget specs: sends Thought Industries
-- updates with update_many for a fixed time through the budget named on
-- the command line, then prints "ok=N failed=N limited=N".
--   lua budget_worker.lua BASE_URL SECONDS RATE BURST KIND WHERE [TAG]
-- KIND: file (WHERE is the path) or redis (WHERE is the port; lua-redis).
local userupd = require "userupd"
local base, secs, rate, burst, kind, where, tag = ...
secs, rate, burst = tonumber(secs), tonumber(rate), tonumber(burst)
tag = tag or "w"

local budget = where
if kind == "redis" then
  budget = require("userupd.budget.redis").new{
    host = "127.0.0.1", port = tonumber(where) }
end

local c = userupd.thoughtindustries{
  api_key = "ti-shared-key", base_url = base, allow_http = true,
  rate = rate, burst = burst, retries = 0, shared_budget = budget }

-- The iterator ends once the time is up (whole seconds: os.time): each
-- record's token is taken when it is pulled, so the run spends its budget
-- until then, and at most 10,000 records.
local stop_at, n = os.time() + secs, 0
local function source()
  n = n + 1
  if n > 10000 or os.time() >= stop_at then return nil end
  return ("%08x-0000-4000-8000-%012d"):format(n, tonumber(tag:match("%d+") or 0)),
         { firstName = tag .. n }
end

local limited = 0
local s = c:update_many(source, {
  concurrency = 4, progress = false,
  on_result = function(_, _, err)
    if err and err.status == 429 then limited = limited + 1 end
  end })
print(("ok=%d failed=%d limited=%d"):format(s.ok, s.failed, limited))
