/*
** term.c: userupd.isatty(fd) and userupd.term_width(fd), what the
** command line asks about its terminal before it draws a progress line.
** Asking here costs one system call; the CLI used to fork `test -t 2`.
** Neither ever raises for a closed or odd descriptor: that is simply
** "not a terminal" (false) and "width unknown" (nil).
*/
#define _POSIX_C_SOURCE 200809L /* isatty, fileno */
#include <sys/ioctl.h>
#include <unistd.h>
#include "base/compat.h"
#include "base/whole.h"

void uu_term_open(lua_State *L);

/* The descriptor at index 1: 0, 1, 2 or any other whole number; a
** missing argument means stderr (2), where progress is drawn. */
static int fd_arg(lua_State *L)
{
  long fd = 2;
  if (!lua_isnoneornil(L, 1) && !uu_lua_whole(L, 1, 0, 65535, &fd))
    luaL_argerror(L, 1, "file descriptor out of range");
  return (int)fd;
}

/* userupd.isatty([fd]) -> boolean */
static int l_isatty(lua_State *L)
{
  lua_pushboolean(L, isatty(fd_arg(L)) == 1);
  return 1;
}

/* userupd.term_width([fd]) -> columns, or nil when fd is no terminal or
** the terminal does not say (TIOCGWINSZ gives 0 on some serial lines). */
static int l_term_width(lua_State *L)
{
#if defined(TIOCGWINSZ)
  struct winsize ws;
  int fd = fd_arg(L);
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    lua_pushinteger(L, (lua_Integer)ws.ws_col);
    return 1;
  }
#else
  (void)fd_arg(L);
#endif
  lua_pushnil(L);
  return 1;
}

static const luaL_Reg term_funcs[] = {
  {"isatty", l_isatty},
  {"term_width", l_term_width},
  {NULL, NULL}};

/* Adds the functions to the module table on top of the stack. */
void uu_term_open(lua_State *L)
{
  uu_setfuncs(L, term_funcs, 0);
}
