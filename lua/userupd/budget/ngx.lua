-- userupd.budget.ngx: a shared budget in a lua_shared_dict, so every worker
-- of one nginx paces one budget per vendor and credential (a dict is
-- shared by the workers of one nginx only).
--
--   lua_shared_dict userupd_budget 1m;                     -- nginx.conf
--
--   local budget = require("userupd.budget.ngx").new("userupd_budget")
--   local c = userupd.thoughtindustries(ngxt.options{ api_key = key,
--                                        shared_budget = budget })
--
-- The store protocol (docs/guide.md, "Shared budgets and daily quotas"): take(key, rate, burst)
-- takes one token and returns the seconds to wait before using it;
-- spend(key, quota) counts one call against today's (UTC) count unless it
-- reached quota, and returns the count and whether it counted.  Both are
-- called from C, so neither may yield: they use dict operations only,
-- never a lock that waits.
--
-- The bucket is one number per key, tat (see src/loops/budget.c): a take moves
-- it to max(tat + 1/rate, now - (burst - 1)/rate) and waits tat - now.
-- incr is atomic across workers; the max is done as a second incr when
-- the first left tat behind its floor (the bucket was full).  Two workers
-- doing that at the same instant both move it: the budget then loses up
-- to one burst, once; it is never overspent.

local ngx = ngx
local floor, max = math.floor, math.max

local M = {}
local Store = {}
Store.__index = Store

-- new(dict or its name [, prefix]) -> store
function M.new(dict, prefix)
  local name = dict
  if type(dict) == "string" then dict = ngx.shared[dict] end
  if type(dict) ~= "table" or not dict.incr then
    error("userupd.budget.ngx: no lua_shared_dict " .. tostring(name), 2)
  end
  return setmetatable({ dict = dict, prefix = prefix or "userupd:" }, Store)
end

function Store:take(key, rate, burst)
  if not (rate > 0) then return 0 end   -- luacheck: ignore 581 (NaN)
  ngx.update_time()
  local now, t = ngx.now(), 1 / rate
  local k = self.prefix .. "tat:" .. key
  local least = now - (burst - 1) * t
  local tat, err = self.dict:incr(k, t, least - t)   -- a new key: least
  if not tat then return nil, "lua_shared_dict: " .. tostring(err) end
  -- it was full, or it lies further ahead than any budget reserves (a
  -- clock stepped back: src/loops/budget.c, skew_limit): start afresh
  if tat < least or tat - now > (max(burst, 1) + 256) * t + 60 then
    tat, err = self.dict:incr(k, least - tat)
    if not tat then return nil, "lua_shared_dict: " .. tostring(err) end
  end
  return tat > now and tat - now or 0
end

function Store:spend(key, quota)
  local k = ("%sday:%s:%d"):format(self.prefix, key, floor(ngx.time() / 86400))
  local n, err = self.dict:incr(k, 1, 0)
  if not n then return nil, "lua_shared_dict: " .. tostring(err) end
  if n > quota then
    self.dict:incr(k, -1)
    return n - 1, false
  end
  if n == 1 then self.dict:expire(k, 2 * 86400) end
  return n, true
end

return M
