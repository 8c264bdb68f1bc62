/* compat.c: bodies of the shims compat.h declares for older Luas. */
#include "base/compat.h"

#if LUA_VERSION_NUM < 502
/* luaL_setfuncs from 5.2: register l into the table below nup upvalues. */
void uu_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
  int i;
  luaL_checkstack(L, nup, "too many upvalues");
  for (; l->name != NULL; l++) {
    for (i = 0; i < nup; i++)
      lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

/* luaL_testudata from 5.2: the userdata at ud if it has metatable tname. */
void *uu_testudata(lua_State *L, int ud, const char *tname)
{
  void *p = lua_touserdata(L, ud);
  if (p == NULL || !lua_getmetatable(L, ud))
    return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2))
    p = NULL;
  lua_pop(L, 2);
  return p;
}
#endif

#if LUA_VERSION_NUM < 504
/* luaL_typeerror from 5.4, with its wording. */
int uu_typeerror(lua_State *L, int arg, const char *tname)
{
  const char *msg = lua_pushfstring(L, "%s expected, got %s", tname,
                                    luaL_typename(L, arg));
  return luaL_argerror(L, arg, msg);
}
#endif
