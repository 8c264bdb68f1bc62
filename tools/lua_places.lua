-- tools/lua_places.lua: the places below the binding where C calls into
-- Lua (lua_call, lua_pcall, lua_callk, lua_pcallk, lua_getglobal).
-- tools/layout refuses such a call in any other function of src/.  Each
-- user-Lua place names the rows of the table "Every place" in
-- docs/reentrancy.md that it stands for, and spec/unit/layout_spec.lua
-- fails when the two lists disagree.  STYLE 2.2: after each of them the
-- caller re-checks its client, and the Lua cannot change the state of the
-- call that is running.
--
-- An entry is { file, function, rows } for user Lua, or { file, function,
-- own = why } for a protected call of the module's own code (a
-- lua_CFunction or the embedded driver.lua run under lua_pcall/lua_call so
-- that a raise inside still puts things back); own entries run no user
-- Lua of their own.  A place in the module's Lua (a .lua file) or in the
-- binding (which may call Lua anywhere) is listed only so that every row
-- of the docs has its place.
return {
  { "src/loops/slot.c", "uu_sleep", { "sleep hook" } },
  { "src/loops/budget.c", "store_call",
    { "shared_budget store take", "shared_budget store spend" } },
  -- the store's own __tostring, only to name it in a failure's message
  { "src/loops/budget.c", "store_name",
    { "shared_budget store take", "shared_budget store spend" } },
  { "src/loops/driver.lua", "transport", { "transport" } },
  { "src/loops/many.c", "pull", { "source" } },
  { "src/loops/outcome.c", "uu_many_report", { "on_result" } },
  { "src/loops/changes.c", "unchanged", { "on_skip" } },
  { "src/loops/outcome.c", "uu_many_plan", { "on_plan" } },
  { "src/loops/progress.c", "uu_many_progress", { "on_progress" } },
  { "src/loops/stop.c", "uu_many_tell_stop", { "on_stop" } },
  { "src/loops/trace.c", "uu_trace_attempt", { "on_attempt" } },
  { "src/loops/async.c", "deliver", { "submit callback" } },
  -- a count hook set by the binding; it raises in whatever Lua runs next
  { "src/binding/sigterm.c", "l_catch_sigterm", { "the CLI's SIGTERM hook" } },

  { "src/loops/guard.c", "uu_guarded",
    own = "runs a method's C function as the client's one running call" },
  { "src/loops/many.c", "run_loop",
    own = "runs update_many's C loop, so the pool is always put back" },
  { "src/loops/async.c", "build",
    own = "builds a submit job in C, freed if anything raises" },
  { "src/loops/driver.c", "uu_driver_wrap",
    own = "runs the embedded driver.lua once, at load, on the methods" },
}
