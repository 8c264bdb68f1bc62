-- userupd.json_decode use-after-free on Lua 5.4.0-5.4.4 (Debian 12: 5.4.4).
-- A refused text whose bad string has over 1 KiB of escapes leaves
-- json.c's luaL_Buffer box (a to-be-closed slot on 5.4) on the stack;
-- uu_json_decode drops it with lua_settop (src/json.c, the settop at the
-- end of uu_json_decode).  On 5.4.4 lua_settop keeps a pointer to the old
-- stack across the box's __close call, which can grow (move) the stack:
-- L->top then points into freed memory.  Run under valgrind to see the
-- invalid write; which m hits depends on the stack layout.
local u = require "userupd"
local bad = '"k' .. string.rep("\\n", 1500) .. '\\q":1}'
for m = 0, 24 do
  local parts = {}
  for i = 1, m do parts[i] = ('"k%02d":%d'):format(i, i) end
  local text = "{" .. table.concat(parts, ",") .. (m > 0 and "," or "") .. bad
  local v, err = coroutine.wrap(function() return u.json_decode(text) end)()
  assert(v == nil)
end
print("done")
