/*
** names.c: the client's field names for the marshal walk.  A Lua table
** { FirstName = 1, first_name = -1, ... } (field index + 1, negative for
** a cross-vendor name), built on first use and kept in the registry, and
** beside it the same names by the address of their string: Lua interns
** short strings, so a key of the user's fields table that names a field
** is the very string the table holds, and one pointer probe finds it
** without a Lua call.  A key the probe misses goes to the table.
*/
#include <stdint.h>
#include <stdlib.h>
#include "wire/marshal.h"

#define NAMES_SLOTS 256 /* power of 2, over twice 2 * MAX_FIELDS names */

struct uu_names {
  const void *key[NAMES_SLOTS]; /* a name's string in the table, or NULL */
  int at[NAMES_SLOTS];          /* its value in the table */
};

static unsigned slot_of(const void *p)
{
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
  return (unsigned)(h >> 56) & (NAMES_SLOTS - 1);
}

static void names_add(struct uu_names *nm, const void *p, int at)
{
  unsigned h = slot_of(p);
  while (nm->key[h] != NULL)
    h = (h + 1) & (NAMES_SLOTS - 1);
  nm->key[h] = p;
  nm->at[h] = at;
}

/* name = at into the table on top, and into nm when there is one. */
static void set_name(lua_State *L, struct uu_names *nm, const char *name,
                     int at)
{
  lua_pushstring(L, name);
  if (nm != NULL)
    names_add(nm, lua_tostring(L, -1), at);
  lua_pushinteger(L, at);
  lua_rawset(L, -3);
}

/* Pushes the client's names table; its stack index. */
int uu_names_push(lua_State *L, uu_client *c)
{
  const uu_field *f;
  int i;
  if (c->names_ref != LUA_NOREF && c->names_ref != LUA_REFNIL) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->names_ref);
    return lua_gettop(L);
  }
  free(c->names);                    /* none yet; calloc may fail: NULL */
  c->names = (struct uu_names *)calloc(1, sizeof *c->names);
  lua_newtable(L);
  for (f = c->v->fields, i = 1; f->name != NULL && i <= MAX_FIELDS;
       f++, i++) {
    set_name(L, c->names, f->name, i);
    if (f->canon != NULL)
      set_name(L, c->names, f->canon, -i);
  }
  lua_pushvalue(L, -1);
  c->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return lua_gettop(L);
}

/* The table's value for the string key s (a pointer from lua_tolstring),
** found by address; 0 when the probe misses. */
int uu_names_find(const uu_client *c, const char *s)
{
  const struct uu_names *nm = c->names;
  unsigned h;
  if (nm == NULL)
    return 0;
  for (h = slot_of(s); nm->key[h] != NULL; h = (h + 1) & (NAMES_SLOTS - 1))
    if (nm->key[h] == (const void *)s)
      return nm->at[h];
  return 0;
}

/* The client's release: the names by address go with the table. */
void uu_names_free(uu_client *c)
{
  free(c->names);
  c->names = NULL;
}
