/*
** history_lua.c: the journal's history for `userupd failures` (see
** journal/history.c), as methods of a journal opened with userupd.journal:
**
**   j:record_run{ started =, finished =, stopped =, header = JSON,
**                 refused = { { line =, id =, kind =, reason =,
**                               cells = JSON }, ... } }  -> run number
**   j:runs()     -> { { run, started, finished, stopped, header }, ... }
**   j:refused()  -> { { run, line, id, kind, reason, cells }, ... }
**   j:prune(ids) -> how many of these failed ids left the failures list
**
** Failures return nil, message.  record_run checks every row before it
** opens the transaction, so a bad argument raises with nothing written.
*/
#include <stdlib.h>
#include <string.h>

#include "base/compat.h"
#include "base/whole.h"
#include "journal/journal.h"
#include "json/json.h"

#define BOX_MT "userupd.history_box"

static int push_fail(lua_State *L, uu_journal *j)
{
  lua_pushnil(L);
  lua_pushstring(L, uu_journal_errmsg(j));
  return 2;
}

/* t[k] as a string or NULL; raises when it is there but not a string. */
static const char *opt_text(lua_State *L, int t, const char *k)
{
  const char *s;
  lua_pushstring(L, k);
  lua_rawget(L, t);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "bad argument #1 to 'record_run' (%s must be a string)", k);
  s = lua_tostring(L, -1);
  lua_pop(L, 1);                       /* t keeps it alive */
  return s;
}

/* A whole number from 0 to 2^53 at key k of the table at t, 0 if absent
** (range first: casting 1e300 or NaN would be undefined). */
static lua_Integer opt_int(lua_State *L, int t, const char *k)
{
  long n = 0;
  lua_pushstring(L, k);
  lua_rawget(L, t);
  if (!lua_isnil(L, -1) && !uu_lua_whole(L, -1, 0, UU_MAX_SAFE_DOUBLE, &n))
    luaL_error(L, "bad argument #1 to 'record_run' (%s must be a whole "
               "number from 0 to 2^53)", k);
  lua_pop(L, 1);
  return (lua_Integer)n;
}

/* Row i of refused (at index list) into f; raises on a bad row. */
static void read_row(lua_State *L, int list, int i, uu_hrefused *f)
{
  int row;
  lua_rawgeti(L, list, i);
  luaL_checktype(L, -1, LUA_TTABLE);
  row = lua_gettop(L);
  f->line = (long)opt_int(L, row, "line");
  f->id = opt_text(L, row, "id");
  f->kind = opt_text(L, row, "kind");
  f->reason = opt_text(L, row, "reason");
  f->cells = opt_text(L, row, "cells");
  lua_pop(L, 1);                       /* list keeps the row alive */
}

/* A write through this handle takes the journal's writer lock first
** (owner.c): nil and who holds it when another run does. */
static int locked_out(lua_State *L, uu_journal *j)
{
  char err[400];
  if (uu_journal_writer(j, err, sizeof err) == 0)
    return 0;
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

static int l_record_run(lua_State *L)
{
  uu_journal *j = uu_journal_arg(L);
  uu_hrun r;
  uu_hrefused f;
  int64_t run;
  int i, n, list, ok = 1;
  luaL_checktype(L, 2, LUA_TTABLE);
  r.started = (int64_t)opt_int(L, 2, "started");
  r.finished = (int64_t)opt_int(L, 2, "finished");
  r.stopped = opt_text(L, 2, "stopped");
  r.header = opt_text(L, 2, "header");
  lua_pushliteral(L, "refused");
  lua_rawget(L, 2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
  }
  luaL_checktype(L, -1, LUA_TTABLE);
  list = lua_gettop(L);
  n = (int)uu_rawlen(L, list);
  for (i = 1; i <= n; i++)             /* every row checked first */
    read_row(L, list, i, &f);
  if (locked_out(L, j))
    return 2;
  if (uu_history_run(j, &r, &run) != 0)
    return push_fail(L, j);
  for (i = 1; i <= n && ok; i++) {
    read_row(L, list, i, &f);          /* checked above: cannot raise */
    ok = uu_history_refuse(j, run, &f) == 0;
  }
  if (uu_history_end(j, ok) != 0)
    return push_fail(L, j);
  lua_pushinteger(L, (lua_Integer)run);
  return 1;
}

static int box_gc(lua_State *L)
{
  char **box = (char **)lua_touserdata(L, 1);
  free(*box);
  *box = NULL;
  return 0;
}

/* Pushes the decoded JSON array fn makes (an empty table when there is no
   history yet); the text lives in a box __gc frees, so a raise while
   decoding leaks nothing. */
static int push_json(lua_State *L, int (*fn)(uu_journal *, char **,
                                             size_t *))
{
  uu_journal *j = uu_journal_arg(L);
  char **box = (char **)lua_newuserdata(L, sizeof *box);
  char msg[96];
  size_t len;
  *box = NULL;
  luaL_getmetatable(L, BOX_MT);
  lua_setmetatable(L, -2);
  if (fn(j, box, &len) != 0)
    return push_fail(L, j);
  if (*box == NULL) {
    lua_newtable(L);
    return 1;
  }
  if (uu_json_decode(L, *box, len, 8, msg, sizeof msg) != 0)
    return luaL_error(L, "userupd: journal history: %s", msg);
  free(*box);
  *box = NULL;
  return 1;
}

static int l_runs(lua_State *L)
{
  return push_json(L, uu_history_runs_json);
}

static int l_refused(lua_State *L)
{
  return push_json(L, uu_history_refused_json);
}

/* j:prune(ids): the ids (strings) leave the failures list. */
static int l_prune(lua_State *L)
{
  uu_journal *j = uu_journal_arg(L);
  int64_t n = 0;
  int i, count, ok = 1;
  luaL_checktype(L, 2, LUA_TTABLE);
  count = (int)uu_rawlen(L, 2);
  for (i = 1; i <= count; i++) {       /* checked first: nothing half done */
    lua_rawgeti(L, 2, i);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "bad argument #1 to 'prune' (ids must be strings)");
    lua_pop(L, 1);
  }
  if (locked_out(L, j))
    return 2;
  if (uu_history_prune_begin(j) != 0)
    return push_fail(L, j);
  for (i = 1; i <= count && ok; i++) {
    size_t len;
    const char *id;
    lua_rawgeti(L, 2, i);
    id = lua_tolstring(L, -1, &len);
    ok = uu_history_prune(j, id, len, &n) == 0;
    lua_pop(L, 1);
  }
  if (uu_history_end(j, ok) != 0)
    return push_fail(L, j);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static const luaL_Reg history_methods[] = {
  {"record_run", l_record_run},
  {"runs", l_runs},
  {"refused", l_refused},
  {"prune", l_prune},
  {NULL, NULL}
};

void uu_history_open_lua(lua_State *L)
{
  if (luaL_newmetatable(L, BOX_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_getmetatable(L, "userupd.journal");
  lua_getfield(L, -1, "__index");
  uu_setfuncs(L, history_methods, 0);
  lua_pop(L, 2);
}
