-- Constructor options cast from doubles without a range check (UB in C):
-- src/binding/client.c type_ok (long long), read_limits (long, int, size_t).
-- Run with tools/asan's build (UBSan stops at the first one):
--   LD_PRELOAD="$(clang -print-file-name=libclang_rt.asan-x86_64.so) build/asan/libshim.so" \
--   LUA_CPATH='build/asan/?.so;;' lua5.4 fuzz/repro/lua/options_ub.lua
local u = require "userupd"
for _, opts in ipairs({
  { api_key = "k", retries = 1e300 },          -- client.c type_ok
  { api_key = "k", max_connections = 0 / 0 },  -- type_ok, NaN
  { api_key = "k", max_response = -1 },        -- read_limits (size_t)
  { api_key = "k", timeout = 1e300 },          -- read_limits (long)
  { api_key = "k", retries = 2 ^ 31 },         -- read_limits (int)
}) do
  print(pcall(u.questionpro, opts))
end
