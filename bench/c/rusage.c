/*
** rusage.c: a tiny Lua module for the bench's Lua children.
**   now()    monotonic seconds (a double)
**   wall()   unix time in seconds, with microseconds
**   cpu()    user + sys seconds of this process, then user, sys
**   maxrss() peak resident set size of this process, KiB
*/
#define _POSIX_C_SOURCE 200809L
#include <time.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <lua.h>
#include <lauxlib.h>

static int l_now(lua_State *L)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  return 1;
}

static int l_wall(lua_State *L)
{
  struct timeval tv;
  gettimeofday(&tv, NULL);
  lua_pushnumber(L, (double)tv.tv_sec + (double)tv.tv_usec / 1e6);
  return 1;
}

static int l_cpu(lua_State *L)
{
  struct rusage ru;
  double u, s;
  getrusage(RUSAGE_SELF, &ru);
  u = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  lua_pushnumber(L, u + s);
  lua_pushnumber(L, u);
  lua_pushnumber(L, s);
  return 3;
}

static int l_maxrss(lua_State *L)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  lua_pushnumber(L, (double)ru.ru_maxrss);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"now", l_now}, {"wall", l_wall}, {"cpu", l_cpu}, {"maxrss", l_maxrss},
  {NULL, NULL}};

int luaopen_rusage(lua_State *L);
int luaopen_rusage(lua_State *L)
{
#if LUA_VERSION_NUM >= 502
  luaL_newlib(L, funcs);
#else
  lua_newtable(L);
  luaL_register(L, NULL, funcs);
#endif
  return 1;
}
