-- "Retry-After: nan" makes the retry wait NaN (http.c retry_after and
-- driver.c read_headers both strtod() it; uu_backoff passes NaN through).
local u = require "userupd"
local waits = {}
local calls = 0
local c = u.questionpro{ api_key = "k", retries = 1,
  sleep = function(s) waits[#waits + 1] = s end,
  transport = function(req)
    calls = calls + 1
    return 503, '{}', { ["Retry-After"] = "nan" }
  end }
local user, err = c:update(1, { firstName = "A" })
print("transport calls:", calls, "sleep got:", table.unpack(waits))
for _, w in ipairs(waits) do assert(w == w, "NaN wait handed to sleep") end
