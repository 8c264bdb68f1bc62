/*
** sigterm.c: userupd.catch_sigterm(), for the command line.  The
** standalone interpreter turns SIGINT into a Lua error ("interrupted!")
** wherever Lua code runs; SIGTERM (systemd, docker, timeout) would end the
** process silently.  After catch_sigterm, SIGTERM does what lua.c does
** for SIGINT: it sets a hook, and the hook raises "terminated!" in the
** Lua code that runs next, so the command can say so and exit 143.
** update_many with `interruptible` replaces this handler while it runs
** (it stops gently instead: loops/stop.c) and puts it back after.
*/
#define _POSIX_C_SOURCE 200809L /* sigaction */
#include <signal.h>
#include <string.h>
#include "base/compat.h"

void uu_sigterm_open(lua_State *L);

static lua_State *term_L;             /* the state catch_sigterm ran in */

/* The hook: once, then off again. */
static void on_hook(lua_State *L, lua_Debug *ar)
{
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "terminated!");
}

/* A second SIGTERM before the hook ran ends the process. */
static void on_sigterm(int sig)
{
  signal(sig, SIG_DFL);
  lua_sethook(term_L, on_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT,
              1);
}

/* userupd.catch_sigterm() -> true */
static int l_catch_sigterm(lua_State *L)
{
  struct sigaction sa;
  term_L = L;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigterm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  lua_pushboolean(L, 1);
  return 1;
}

/* Sets catch_sigterm on the module table at the top of the stack. */
void uu_sigterm_open(lua_State *L)
{
  lua_pushcfunction(L, l_catch_sigterm);
  lua_setfield(L, -2, "catch_sigterm");
}
