/*
** guard.c: a client runs one call at a time on its call state.  update,
** get, prepare, encode and the transport driver's primitives build a
** call's id, URL and body in the client's sync slot and scratch buffer,
** and Lua runs in the middle of them: the sleep hook, a shared_budget
** store, __index on the fields or opts, a finalizer (__gc) of any object
** the collector meets.  That Lua may not start another such call on the
** same client: it is refused with an error naming both calls, before it
** touches anything.  It may close the client: the client is marked closed
** at once (the running call ends with a "closed" error) and freed when
** the running call has returned.  docs/reentrancy.md lists every place.
*/
#include <stdlib.h>
#include <string.h>
#include "userupd.h"

/* The refusal: programmer error, so it raises. */
static int refuse(lua_State *L, const uu_client *c, const char *what)
{
  return luaL_error(L, "userupd: %s: client:%s called while client:%s is "
                    "running on the same client (from a hook, a store, a "
                    "metamethod or a finalizer); a running call's id, URL "
                    "and body are its own: use another client",
                    c->v->name, what, c->busy);
}

/* Raises when a call of c is running (for entries that only read). */
void uu_not_busy(lua_State *L, const uu_client *c, const char *what)
{
  if (c->busy != NULL)
    refuse(L, c, what);
}

/* An argument error raised inside the protected call names no function
** ('?') and counts the client: as a method's, it is "#N to 'what'" with
** N counted after self, the way Lua names it for c:what(...). */
static void name_argerror(lua_State *L, const char *what)
{
  const char *s = lua_tostring(L, -1), *to;
  char *end;
  long n;
  if (s == NULL || strncmp(s, "bad argument #", 14) != 0)
    return;
  n = strtol(s + 14, &end, 10);
  to = end;
  if (end == s + 14 || n < 2 || strncmp(to, " to '?' (", 9) != 0)
    return;
  lua_pushfstring(L, "bad argument #%d to '%s' (%s", (int)(n - 1), what,
                  to + 9);
  lua_replace(L, -2);
}

/* Runs f, a method taking the client at 1, on the arguments on the stack
** as the one running call of the client, under lua_pcall, so a raise
** anywhere inside still ends the call: busy is cleared, a close asked
** for meanwhile is done, and the error goes on.  f's results. */
int uu_guarded(lua_State *L, const char *what, lua_CFunction f)
{
  uu_client *c = uu_check_client(L, 1);
  int top = lua_gettop(L), status;
  if (c->busy != NULL)
    return refuse(L, c, what);
  lua_pushcfunction(L, f);
  lua_insert(L, 1);
  lua_pushvalue(L, 2);
  lua_insert(L, 1);                        /* client, f, client, args */
  c->busy = what;
  status = lua_pcall(L, top, LUA_MULTRET, 0);
  c->busy = NULL;
  if (c->release_due && luaL_callmeta(L, 1, "__gc"))
    lua_pop(L, 1);                         /* the close asked for */
  if (status != 0) {
    name_argerror(L, what);
    return lua_error(L);
  }
  return lua_gettop(L) - 1;
}
