/*
** idset_lua.c: userupd.idset(), a set of ids that costs no Lua value per
** id (journal/idset.h): the CLI's duplicate check over a whole export.
**
**   local set = userupd.idset([opts])  opts.filter_bits, opts.pending: the
**                         Bloom filter's first size and the pending list's
**                         (tests make them small; defaults otherwise);
**                         opts.hash_bits (tests): hash bits kept, so that
**                         ids collide and only their bytes tell them apart
**   set:add(key, line) -> nil when key is new, else the line it was first
**                         added with; raises on a database error.  An
**                         integer key is its decimal digits (as tostring)
**   set:close()          (also __gc and __close)
*/
#include <stdio.h>

#include "base/compat.h"
#include "journal/idset.h"

#define S_MT "userupd.idset"

typedef struct l_idset {
  uu_idset *s;              /* NULL once closed */
} l_idset;

/* opts[k] as a size: 0 when absent; raises when not a count. */
static size_t size_opt(lua_State *L, const char *k)
{
  lua_Number n;
  if (!lua_istable(L, 1))
    return 0;
  lua_getfield(L, 1, k);
  n = lua_isnil(L, -1) ? 0 : luaL_checknumber(L, -1);
  lua_pop(L, 1);
  if (!(n >= 0 && n <= 1e12))                     /* NaN fails too */
    luaL_error(L, "bad option %s to 'idset' (a count expected)", k);
  return (size_t)n;
}

static int l_idset_new(lua_State *L)
{
  size_t bits = size_opt(L, "filter_bits"), pend = size_opt(L, "pending");
  size_t weak = size_opt(L, "hash_bits");
  l_idset *ls = (l_idset *)lua_newuserdata(L, sizeof *ls);
  char err[200];
  ls->s = NULL;
  luaL_getmetatable(L, S_MT);
  lua_setmetatable(L, -2);
  if (uu_idset_open(&ls->s, bits, pend, err, sizeof err) != 0)
    return luaL_error(L, "userupd: %s", err);
  if (weak > 0)
    uu_idset_weaken(ls->s, weak < 64 ? (int)weak : 63);
  return 1;
}

/* An integer key's decimal digits, as tostring writes them, at the end
** of buf (at least 21 bytes): the start; *n their length.  No string is
** made for it (the CLI's numeric ids, one per row). */
static const char *int_key(lua_Integer v, char *buf, size_t size, size_t *n)
{
  char *p = buf + size;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                : (unsigned long long)v;
  do {
    *--p = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u != 0);
  if (v < 0)
    *--p = '-';
  *n = (size_t)(buf + size - p);
  return p;
}

static int l_idset_add(lua_State *L)
{
  l_idset *ls = (l_idset *)luaL_checkudata(L, 1, S_MT);
  size_t n;
  char digits[24];
  const char *key = uu_isinteger(L, 2)
    ? int_key((lua_Integer)lua_tointeger(L, 2), digits, sizeof digits, &n)
    : luaL_checklstring(L, 2, &n);
  lua_Number line = luaL_checknumber(L, 3);
  long first = 0;
  int rc;
  if (ls->s == NULL)
    return luaL_error(L, "attempt to use a closed id set");
  if (!(line >= 0 && line <= 2147483647.0))       /* NaN fails too */
    return luaL_argerror(L, 3, "expected a line number");
  rc = uu_idset_add(ls->s, key, n, (long)line, &first);
  if (rc < 0)
    return luaL_error(L, "userupd: %s", uu_idset_errmsg(ls->s));
  if (rc == 0)
    lua_pushnil(L);
  else
    lua_pushnumber(L, (lua_Number)first);
  return 1;
}

static int l_idset_close(lua_State *L)
{
  l_idset *ls = (l_idset *)luaL_checkudata(L, 1, S_MT);
  uu_idset_close(ls->s);
  ls->s = NULL;
  return 0;
}

static const luaL_Reg idset_methods[] = {
  {"add", l_idset_add}, {"close", l_idset_close}, {NULL, NULL}};

static const luaL_Reg idset_meta[] = {
  {"__gc", l_idset_close}, {"__close", l_idset_close}, {NULL, NULL}};

/* Sets idset on the table at the top of the stack. */
void uu_idset_open_lua(lua_State *L)
{
  if (luaL_newmetatable(L, S_MT)) {
    uu_setfuncs(L, idset_meta, 0);
    uu_newlib(L, idset_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_idset_new);
  lua_setfield(L, -2, "idset");
}
