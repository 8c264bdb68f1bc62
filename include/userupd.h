/*
** userupd.h: for C hosts that link userupd in (libuserupd.a) instead of
** loading it with require.  Register it in your own lua_State with
**   luaL_requiref(L, "userupd", luaopen_userupd, 0);
** and link with: libuserupd.a -lcurl -lsqlite3 -lm (and your Lua).
*/
#ifndef USERUPD_H
#define USERUPD_H

#include <lua.h>

#ifdef __cplusplus
extern "C" {
#endif

int luaopen_userupd(lua_State *L);

#ifdef __cplusplus
}
#endif

#endif
