/*
** many_lua.c: client:update_many's Lua face.  The run itself is C
** (src/loops/many.c) and reports progress only through opts.on_progress;
** drawing is Lua's (userupd.progress).  Here, and only here, the two
** meet: with no on_progress, and progress = true (or left nil while
** stderr is a terminal), the run gets the terminal bar of
** userupd.progress as its on_progress.
*/
#include <unistd.h>
#include "userupd.h"

/* 1 when the run should draw the bar (2 when it was asked for). */
static int wants_bar(lua_State *L)
{
  int want;
  if (!lua_istable(L, 3))
    return lua_isnoneornil(L, 3) && isatty(2);
  lua_getfield(L, 3, "on_progress");
  lua_getfield(L, 3, "progress");
  if (!lua_isnil(L, -2))
    want = 0;                          /* the caller's own channel */
  else if (lua_isnil(L, -1))
    want = isatty(2);                  /* the default, as before */
  else
    want = lua_toboolean(L, -1) ? 2 : 0;
  lua_pop(L, 2);
  return want;
}

/* Pushes userupd.progress.callback(), or returns -1 (the message pushed)
** when the module cannot give one. */
static int push_renderer(lua_State *L)
{
  lua_getglobal(L, "require");
  lua_pushliteral(L, "userupd.progress");
  if (lua_pcall(L, 1, 1, 0) != 0)
    return -1;
  lua_getfield(L, -1, "callback");
  lua_remove(L, -2);
  if (lua_pcall(L, 0, 1, 0) != 0)
    return -1;
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "userupd.progress.callback() gave no function");
    return -1;
  }
  return 0;
}

/* opts (3) becomes { on_progress = bar } over the caller's table (its
** __index), so every other option reads as given and the caller's table
** is left as it was. */
static void add_bar(lua_State *L, int asked)
{
  lua_settop(L, 3);
  if (push_renderer(L) != 0) {                     /* 4: bar or message */
    if (asked)
      luaL_error(L, "update_many: progress = true needs the Lua module "
                 "userupd.progress: %s", lua_tostring(L, -1));
    lua_settop(L, 3);                              /* the default: no bar */
    return;
  }
  lua_createtable(L, 0, 1);                        /* 5: the new opts */
  lua_insert(L, 4);
  lua_setfield(L, 4, "on_progress");
  if (lua_istable(L, 3)) {
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, 4);
  }
  lua_replace(L, 3);
}

/* client:update_many(source [, opts]) -> summary */
static int l_client_update_many(lua_State *L)
{
  int want;
  uu_check_client(L, 1);
  want = wants_bar(L);
  if (want)
    add_bar(L, want == 2);
  return uu_update_many(L);
}

/* update_many, for the client methods (lua_userupd.c). */
const luaL_Reg uu_many_methods[] = {
  {"update_many", l_client_update_many},
  {NULL, NULL}};
