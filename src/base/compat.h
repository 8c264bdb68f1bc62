/*
** compat.h: the one place that knows Lua versions.  Code is written to the
** 5.3 API; this header maps it down to 5.1, 5.2 and LuaJIT 2.1.  Only uu_*
** shims are defined here (remapped by macro), never real luaL_* symbols,
** because LuaJIT reports 501 yet exports some 5.2 functions.
*/
#ifndef UU_COMPAT_H
#define UU_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#define uu_rawlen(L, i) lua_objlen((L), (i))
#define uu_absindex(L, i) \
  (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)
#define uu_setuservalue(L, i) lua_setfenv((L), (i))
#define uu_getuservalue(L, i) lua_getfenv((L), (i))
void uu_setfuncs(lua_State *L, const luaL_Reg *l, int nup);
void *uu_testudata(lua_State *L, int ud, const char *tname);
#define uu_newlib(L, l) (lua_newtable(L), uu_setfuncs((L), (l), 0))
#else
#define uu_rawlen(L, i) lua_rawlen((L), (i))
#define uu_absindex(L, i) lua_absindex((L), (i))
#define uu_setuservalue(L, i) lua_setuservalue((L), (i))
#define uu_getuservalue(L, i) ((void)lua_getuservalue((L), (i)))
#define uu_setfuncs(L, l, n) luaL_setfuncs((L), (l), (n))
#define uu_testudata(L, i, t) luaL_testudata((L), (i), (t))
#define uu_newlib(L, l) luaL_newlib((L), (l))
#endif

#if LUA_VERSION_NUM >= 503
#define UU_HAS_INT64 1
#define uu_isinteger(L, i) lua_isinteger((L), (i))
#else
#define UU_HAS_INT64 0
#define uu_isinteger(L, i) 0
#endif

/* Largest integer a double holds exactly: the limit on 5.1, 5.2, LuaJIT. */
#define UU_MAX_SAFE_DOUBLE 9007199254740992.0

#if LUA_VERSION_NUM >= 504
#define uu_typeerror(L, a, t) luaL_typeerror((L), (a), (t))
#else
int uu_typeerror(lua_State *L, int arg, const char *tname);
#endif

#endif
