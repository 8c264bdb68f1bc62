/*
** journal_lua.c: userupd.journal(path [, vendor]), a read-mostly view of a
** run journal for people and scripts: look an id up, list or stream the
** failures, count outcomes.  update_many (many.c) uses journal.h directly.
**
** Errors: bad arguments and use of a closed journal raise; open and
** database errors return nil, message (the each_failure iterator raises,
** as a for loop cannot receive a message).
*/
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/compat.h"
#include "base/whole.h"
#include "journal/journal.h"

#define J_MT "userupd.journal"
#define J_IDLEN 32          /* a decimal 64-bit integer and its NUL */
#define J_ERRLEN 320

/* The userdata.  Every cursor lives here, never only in a C local, so a
   raise while building a table cannot leak one: the next call, close or
   __gc finalizes it. */
typedef struct l_journal {
  uu_journal *j;            /* NULL once closed */
  uu_jcursor *iter;         /* each_failure's open cursor */
  uu_jcursor *list;         /* failures()'s cursor while it runs */
  lua_Integer gen;          /* counts each_failure calls */
} l_journal;

static const char *const state_names[] = {"none", "ok", "failed",
                                          "invalid", NULL};

static void release(l_journal *lj)
{
  uu_jcursor_close(lj->iter);
  lj->iter = NULL;
  uu_jcursor_close(lj->list);
  lj->list = NULL;
  uu_journal_close(lj->j);
  lj->j = NULL;
}

static l_journal *check_journal(lua_State *L)
{
  l_journal *lj = (l_journal *)luaL_checkudata(L, 1, J_MT);
  if (lj->j == NULL)
    luaL_error(L, "attempt to use a closed journal");
  return lj;
}

/* nil, message: the io library's way of reporting a failed operation. */
static int push_fail(lua_State *L, const char *msg)
{
  lua_pushnil(L);
  lua_pushstring(L, msg);
  return 2;
}

/* The id at idx as bytes: strings as they are, integers (integral floats
   up to 2^53 too) as their decimal string.  NULL for anything else. */
static const char *to_id(lua_State *L, int idx, char *buf, size_t *len)
{
  lua_Number d;
  int n;
  if (lua_type(L, idx) == LUA_TSTRING)
    return lua_tolstring(L, idx, len);
  if (lua_type(L, idx) != LUA_TNUMBER)
    return NULL;
#if UU_HAS_INT64
  if (lua_isinteger(L, idx)) {
    n = snprintf(buf, J_IDLEN, LUA_INTEGER_FMT,
                 (LUAI_UACINT)lua_tointeger(L, idx));
    *len = (size_t)n;
    return buf;
  }
#endif
  d = lua_tonumber(L, idx);
  /* range first: converting an out-of-range double is undefined */
  if (!(d >= -UU_MAX_SAFE_DOUBLE && d <= UU_MAX_SAFE_DOUBLE)
      || (lua_Number)(long long)d != d)
    return NULL;
  n = snprintf(buf, J_IDLEN, "%lld", (long long)d);
  *len = (size_t)n;
  return buf;
}

static const char *check_id(lua_State *L, int arg, char *buf, size_t *len)
{
  const char *id = to_id(L, arg, buf, len);
  if (id == NULL && lua_type(L, arg) == LUA_TNUMBER)
    luaL_argerror(L, arg, "number has no integer representation");
  else if (id == NULL)
    uu_typeerror(L, arg, "string or integer");
  else if (*len == 0)
    luaL_argerror(L, arg, "empty id");
  return id;
}

/* Table-building helpers: the table is at the top; NULL sets nothing. */
static void set_str(lua_State *L, const char *k, const char *s, size_t n)
{
  if (s == NULL)
    return;
  lua_pushlstring(L, s, n);
  lua_setfield(L, -2, k);
}

static void set_cstr(lua_State *L, const char *k, const char *s)
{
  set_str(L, k, s, s != NULL ? strlen(s) : 0);
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* Pushes a row as a table.  The hash is a hex string: 64 bits do not fit
   a 5.1 number. */
static void push_row(lua_State *L, const uu_jrow *row)
{
  char hex[17];
  int s = row->state >= 0 && row->state <= UU_J_INVALID ? row->state : 0;
  lua_createtable(L, 0, 13);
  set_str(L, "id", row->id, row->idlen);
  set_cstr(L, "state", state_names[s]);
  set_int(L, "attempts", row->attempts);
  set_int(L, "status", row->http_status);
  set_cstr(L, "kind", row->kind);
  set_cstr(L, "message", row->message);
  set_cstr(L, "vendor_code", row->vendor_code);
  set_cstr(L, "field", row->field);
  set_str(L, "payload", row->fail_payload, row->fail_payload_len);
  set_str(L, "ok_payload", row->ok_payload, row->ok_payload_len);
  if (row->ok_hash != 0) {
    snprintf(hex, sizeof hex, "%016" PRIx64, row->ok_hash);
    set_cstr(L, "ok_hash", hex);
  }
  lua_pushnumber(L, row->elapsed);
  lua_setfield(L, -2, "elapsed");
  set_int(L, "updated_at", (lua_Integer)row->updated_at);
  if (row->line > 0)
    set_int(L, "line", (lua_Integer)row->line);
}

/* userupd.journal(path [, vendor]).  The userdata is made, zeroed and
   given its metatable before SQLite is touched, so __gc always sees a
   consistent object; the path goes into its uservalue for __tostring. */
static int l_journal_new(lua_State *L)
{
  size_t plen;
  const char *path = luaL_checklstring(L, 1, &plen);
  const char *vendor = luaL_optstring(L, 2, NULL);
  char err[J_ERRLEN];
  l_journal *lj;
  luaL_argcheck(L, plen > 0 && strlen(path) == plen, 1,
                "file name expected");
  luaL_argcheck(L, vendor == NULL || *vendor != '\0', 2,
                "vendor name expected");
  lj = (l_journal *)lua_newuserdata(L, sizeof *lj);
  memset(lj, 0, sizeof *lj);
  luaL_getmetatable(L, J_MT);
  lua_setmetatable(L, -2);
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  uu_setuservalue(L, -2);                       /* path, vendor, ud */
  if (uu_journal_open(path, vendor, &lj->j, err, sizeof err) != 0)
    return push_fail(L, err);
  return 1;
}

/* j:get(id) -> nil or the id's row. */
static int l_journal_get(lua_State *L)
{
  l_journal *lj = check_journal(L);
  char buf[J_IDLEN];
  size_t len;
  const char *id = check_id(L, 2, buf, &len);
  uu_jrow row;
  int rc = uu_journal_get(lj->j, id, len, &row);
  if (rc < 0)
    return push_fail(L, uu_journal_errmsg(lj->j));
  if (rc == 0) {
    lua_pushnil(L);
    return 1;
  }
  push_row(L, &row);      /* a raise here leaves ST_GET to the next get */
  uu_journal_get_done(lj->j);
  return 1;
}

/* j:failures() -> array of failed and invalid rows, in id order. */
static int l_journal_failures(lua_State *L)
{
  l_journal *lj = check_journal(L);
  uu_jrow row;
  int rc, n = 0;
  uu_jcursor_close(lj->list);
  lj->list = NULL;
  if (uu_journal_failures(lj->j, &lj->list) != 0)
    return push_fail(L, uu_journal_errmsg(lj->j));
  lua_newtable(L);
  while ((rc = uu_jcursor_next(lj->list, &row)) == 1) {
    push_row(L, &row);
    lua_rawseti(L, -2, ++n);                    /* j, list */
  }
  uu_jcursor_close(lj->list);
  lj->list = NULL;
  if (rc < 0)
    return push_fail(L, uu_journal_errmsg(lj->j));
  return 1;
}

/* The iterator each_failure returns; upvalues: the journal and the
   each_failure call it belongs to. */
static int l_journal_next_failure(lua_State *L)
{
  l_journal *lj = (l_journal *)lua_touserdata(L, lua_upvalueindex(1));
  uu_jrow row;
  int rc;
  if (lj->j == NULL)
    return luaL_error(L, "attempt to use a closed journal");
  if (lua_tointeger(L, lua_upvalueindex(2)) != lj->gen)
    return luaL_error(L, "each_failure iterator replaced by a later call");
  if (lj->iter == NULL)
    return 0;
  rc = uu_jcursor_next(lj->iter, &row);
  if (rc == 1) {
    push_row(L, &row);
    return 1;
  }
  /* finished: finalize now so the read snapshot ends with the loop */
  uu_jcursor_close(lj->iter);
  lj->iter = NULL;
  if (rc < 0)
    return luaL_error(L, "%s", uu_journal_errmsg(lj->j));
  return 0;
}

/* j:each_failure() -> iterator over the same rows as failures(), one at a
   time.  Only the latest iterator of a journal works: starting a new one
   finalizes the previous cursor (a loop left by break). */
static int l_journal_each_failure(lua_State *L)
{
  l_journal *lj = check_journal(L);
  uu_jcursor_close(lj->iter);
  lj->iter = NULL;
  lj->gen++;
  if (uu_journal_failures(lj->j, &lj->iter) != 0)
    return luaL_error(L, "%s", uu_journal_errmsg(lj->j));
  lua_pushvalue(L, 1);
  lua_pushinteger(L, lj->gen);
  lua_pushcclosure(L, l_journal_next_failure, 2);
  return 1;
}

/* j:summary() -> {ok, failed, invalid, total, vendor}. */
static int l_journal_summary(lua_State *L)
{
  l_journal *lj = check_journal(L);
  int64_t n[4];
  if (uu_journal_counts(lj->j, n) != 0)
    return push_fail(L, uu_journal_errmsg(lj->j));
  lua_createtable(L, 0, 5);
  set_int(L, "ok", (lua_Integer)n[UU_J_OK]);
  set_int(L, "failed", (lua_Integer)n[UU_J_FAILED]);
  set_int(L, "invalid", (lua_Integer)n[UU_J_INVALID]);
  set_int(L, "total", (lua_Integer)n[UU_J_NONE]);
  set_cstr(L, "vendor", uu_journal_vendor(lj->j));
  return 1;
}

/* The open journal at argument 1, for history_lua.c (raises otherwise). */
uu_journal *uu_journal_arg(lua_State *L)
{
  return check_journal(L)->j;
}

static int l_journal_vendor(lua_State *L)
{
  l_journal *lj = check_journal(L);
  lua_pushstring(L, uu_journal_vendor(lj->j));
  return 1;
}

/* j:check() -> true, or nil and the first problem PRAGMA integrity_check
   found. */
static int l_journal_check(lua_State *L)
{
  l_journal *lj = check_journal(L);
  char err[J_ERRLEN];
  if (uu_journal_check(lj->j, err, sizeof err) != 0)
    return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* close, __gc and __close: idempotent. */
static int l_journal_close(lua_State *L)
{
  release((l_journal *)luaL_checkudata(L, 1, J_MT));
  return 0;
}

/* "userupd.journal(<path>): N records"; never payload text. */
static int l_journal_tostring(lua_State *L)
{
  l_journal *lj = (l_journal *)luaL_checkudata(L, 1, J_MT);
  const char *path;
  char count[32];
  int64_t n[4];
  uu_getuservalue(L, 1);
  lua_rawgeti(L, -1, 1);                        /* j, uv, path */
  path = lua_tostring(L, -1);
  if (lj->j == NULL)
    snprintf(count, sizeof count, "closed");
  else if (uu_journal_counts(lj->j, n) != 0)
    snprintf(count, sizeof count, "? records");
  else
    snprintf(count, sizeof count, "%" PRId64 " records", n[UU_J_NONE]);
  lua_pushfstring(L, "userupd.journal(%s): %s", path ? path : "?", count);
  return 1;
}

/* ---- userupd._journal_record(path, vendor, t): a test seam ----
   Opens (creating) the journal, records the one outcome t describes in
   its own transaction, and closes it: specs populate journals through the
   real code, not through the schema.  t = {id = string|integer, state =
   "ok"|"failed"|"invalid", attempts = 1, status = 0, kind, message,
   vendor_code, field, hash = integer|hex string, payload, elapsed = 0}.
   Returns true, or nil and a message. */

static int field_error(lua_State *L, const char *k, const char *expected)
{
  return luaL_argerror(L, 3, lua_pushfstring(L, "field '%s': %s expected",
                                             k, expected));
}

/* Pushes t[k] and leaves it on the stack, so strings read from it stay
   valid until the record is written. */
static int get_field(lua_State *L, const char *k)
{
  lua_getfield(L, 3, k);
  return lua_type(L, -1);
}

static const char *opt_string_field(lua_State *L, const char *k,
                                    size_t *len)
{
  int t = get_field(L, k);
  *len = 0;
  if (t == LUA_TNIL)
    return NULL;
  if (t != LUA_TSTRING)
    field_error(L, k, "string");
  return lua_tolstring(L, -1, len);
}

static lua_Number opt_number_field(lua_State *L, const char *k,
                                   lua_Number def)
{
  int t = get_field(L, k);
  if (t == LUA_TNIL)
    return def;
  if (t != LUA_TNUMBER)
    field_error(L, k, "number");
  return lua_tonumber(L, -1);
}

/* attempts and status: integers from 0 to INT_MAX (checked before the
   cast, which would be undefined out of range). */
static int opt_int_field(lua_State *L, const char *k, int def)
{
  char buf[J_IDLEN];
  size_t len;
  lua_Number d = opt_number_field(L, k, (lua_Number)def);
  if (lua_type(L, -1) == LUA_TNUMBER
      && (to_id(L, -1, buf, &len) == NULL || d < 0 || d > INT_MAX))
    field_error(L, k, "non-negative integer");
  return (int)d;
}

/* hash: an integer, or up to 16 hex digits for a full 64-bit value. */
static uint64_t opt_hash_field(lua_State *L)
{
  char buf[J_IDLEN];
  size_t len;
  const char *s;
  int t = get_field(L, "hash");
  if (t == LUA_TNIL)
    return 0;
  if (t == LUA_TNUMBER && to_id(L, -1, buf, &len) != NULL)
    return (uint64_t)strtoll(buf, NULL, 10);
  if (t == LUA_TSTRING) {
    s = lua_tolstring(L, -1, &len);
    if (len > 0 && len <= 16 && strspn(s, "0123456789abcdefABCDEF") == len)
      return (uint64_t)strtoull(s, NULL, 16);
  }
  field_error(L, "hash", "integer or hex string");
  return 0;
}

static int state_field(lua_State *L)
{
  const char *s;
  int i;
  if (get_field(L, "state") == LUA_TSTRING) {
    s = lua_tostring(L, -1);
    for (i = UU_J_OK; i <= UU_J_INVALID; i++)
      if (strcmp(s, state_names[i]) == 0)
        return i;
  }
  return field_error(L, "state", "'ok', 'failed' or 'invalid'");
}

/* line: a whole number from 0 to 2^53, or absent (0).  Range first: the
** cast of 1e300 or NaN would be undefined. */
static long opt_line_field(lua_State *L)
{
  long line = 0;
  if (get_field(L, "line") != LUA_TNIL &&
      !uu_lua_whole(L, -1, 0, UU_MAX_SAFE_DOUBLE, &line))
    field_error(L, "line", "whole number from 0 to 2^53");
  return line;
}

/* Fills r from the table at 3, raising on a bad field; idbuf backs an
   integer id. */
static void read_record(lua_State *L, uu_jrecord *r, char *idbuf)
{
  size_t len;
  luaL_checkstack(L, 16, "record fields");
  memset(r, 0, sizeof *r);
  get_field(L, "id");
  r->id = to_id(L, -1, idbuf, &r->idlen);
  if (r->id == NULL || r->idlen == 0)
    field_error(L, "id", "non-empty string or integer");
  r->state = state_field(L);
  r->attempts = opt_int_field(L, "attempts", 1);
  r->http_status = opt_int_field(L, "status", 0);
  r->kind = opt_string_field(L, "kind", &len);
  r->message = opt_string_field(L, "message", &len);
  r->vendor_code = opt_string_field(L, "vendor_code", &len);
  r->field = opt_string_field(L, "field", &len);
  r->hash = opt_hash_field(L);
  r->payload = opt_string_field(L, "payload", &r->payload_len);
  r->elapsed = (double)opt_number_field(L, "elapsed", 0);
  r->line = opt_line_field(L);
}

static int l_journal_record(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  const char *vendor = luaL_checkstring(L, 2);
  char idbuf[J_IDLEN], err[J_ERRLEN];
  uu_jrecord r;
  uu_journal *j;
  int rc;
  luaL_checktype(L, 3, LUA_TTABLE);
  read_record(L, &r, idbuf);
  /* no Lua call from here to close: nothing can raise while j is only
     in a C local */
  if (uu_journal_open(path, vendor, &j, err, sizeof err) != 0)
    return push_fail(L, err);
  rc = uu_journal_writer(j, err, sizeof err);      /* one writer at a time */
  if (rc == 0 && (rc = uu_journal_record(j, &r)) != 0)
    snprintf(err, sizeof err, "%s", uu_journal_errmsg(j));
  uu_journal_close(j);
  if (rc != 0)
    return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg journal_methods[] = {
  {"get", l_journal_get},
  {"failures", l_journal_failures},
  {"each_failure", l_journal_each_failure},
  {"summary", l_journal_summary},
  {"vendor", l_journal_vendor},
  {"check", l_journal_check},
  {"close", l_journal_close},
  {NULL, NULL}
};

static const luaL_Reg journal_metamethods[] = {
  {"__gc", l_journal_close},
#if LUA_VERSION_NUM >= 504
  {"__close", l_journal_close},
#endif
  {"__tostring", l_journal_tostring},
  {NULL, NULL}
};

static const luaL_Reg journal_functions[] = {
  {"journal", l_journal_new},
  {"_journal_record", l_journal_record},
  {NULL, NULL}
};

void uu_journal_open_lua(lua_State *L)
{
  if (luaL_newmetatable(L, J_MT)) {
    uu_setfuncs(L, journal_metamethods, 0);
    uu_newlib(L, journal_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  uu_setfuncs(L, journal_functions, 0);
}
