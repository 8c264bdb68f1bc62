/*
** host.c: a C program with its own Lua state, standing in for a game or an
** admin console.  It runs a 60 frames-per-second loop; each frame calls
** the script's frame() (which keeps updates in flight with client:submit
** and calls userupd.poll(0)), and measures how long the frame's Lua work
** took.  The longest frame while requests were in flight is the number a
** host cares about: it must stay far below the 16.7 ms frame budget.
**
** usage: host script.lua [frames]
*/
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "userupd.h"

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
  double d = t - now();
  struct timespec ts;
  if (d <= 0)
    return;
  ts.tv_sec = (time_t)d;
  ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
}

/* Calls frame(); returns the number of updates still in flight, or -1
** when the script says it is done. */
static int run_frame(lua_State *L)
{
  int pending;
  lua_getglobal(L, "frame");
  if (lua_pcall(L, 0, 1, 0) != 0) {
    fprintf(stderr, "frame: %s\n", lua_tostring(L, -1));
    exit(2);
  }
  pending = lua_isnil(L, -1) ? -1 : (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return pending;
}

int main(int argc, char **argv)
{
  lua_State *L;
  int frames = argc > 2 ? atoi(argv[2]) : 600, i, pending, busy = 0;
  double start, t0, dt, worst = 0, next;
  if (argc < 2) {
    fprintf(stderr, "usage: %s script.lua [frames]\n", argv[0]);
    return 2;
  }
  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "userupd", luaopen_userupd, 0);  /* linked in */
  lua_pop(L, 1);
  if (luaL_dofile(L, argv[1]) != 0) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 2;
  }
  start = next = now();
  for (i = 0; i < frames; i++) {
    t0 = now();
    pending = run_frame(L);
    dt = now() - t0;
    if (pending > 0) {
      busy++;
      if (dt > worst)
        worst = dt;
    }
    if (pending < 0)
      break;
    next += 1.0 / 60;
    sleep_until(next);
  }
  lua_getglobal(L, "report");
  lua_call(L, 0, 1);
  printf("frames %d, busy frames %d, longest busy frame %.3f ms, "
         "%.1f s, %s\n", i, busy, worst * 1000, now() - start,
         lua_tostring(L, -1));
  lua_close(L);
  return 0;
}
