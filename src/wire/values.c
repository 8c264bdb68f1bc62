/*
** values.c: one field value -> JSON, by the field's kind (marshal.h):
** integers exact, strings within max_string and valid UTF-8, lists,
** free-form objects, and key/value lists (Forms On Fire Metadata).
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "wire/marshal.h"

/* The body would pass the client's max_body: refused there, before the
** rest of it is built. */
int uu_bad_big(const uu_client *c, uu_bad *bad, const char *field)
{
  return uu_bad_at(bad, field, "%s: the request body would be larger than "
                   "max_body (%lu bytes); refused before building it",
                   field, (unsigned long)c->max_body);
}

static int write_string(uu_client *c, uu_buf *b, const char *field,
                        const uu_field *f, const char *s, size_t n,
                        uu_bad *bad)
{
  int rc;
  if (n > c->max_string)
    return uu_bad_at(bad, field, "%s: string of %lu bytes is over the limit "
                     "of %lu", field, (unsigned long)n,
                     (unsigned long)c->max_string);
  if (n > c->max_body || b->n > c->max_body - n)
    return uu_bad_big(c, bad, field);
  rc = uu_json_string(b, s, n);
  if (rc == UU_JUTF8)
    return uu_bad_at(bad, field, "%s: invalid UTF-8 at byte %lu", field,
                     (unsigned long)uu_utf8_check(s, n) + 1);
  (void)f;
  return rc == UU_JOK ? 0 : uu_bad_nomem(bad, field);
}

/* Integers are exact: a Lua integer (64-bit on 5.3+) as it is; a float
** only when it is whole and below 2^53 in size, on every Lua: past that
** a float is a rounding of what was written (a JSON 9007199254740993.0
** is read as 2^53), so it may be another user's id or department. */
int uu_write_int(lua_State *L, int idx, uu_buf *b, const char *field,
                     uu_bad *bad)
{
  double d;
#if UU_HAS_INT64
  if (lua_isinteger(L, idx))
    return uu_json_integer(b, (long long)lua_tointeger(L, idx)) == UU_JOK
               ? 0 : uu_bad_nomem(bad, field);
#endif
  d = lua_tonumber(L, idx);
  if (d != d || d == HUGE_VAL || d == -HUGE_VAL)
    return uu_bad_at(bad, field, "%s: expected an integer, got %s", field,
                     d != d ? "NaN" : "infinity");
  if (floor(d) != d)
    return uu_bad_at(bad, field, "%s: expected an integer, got %.17g",
                     field, d);
  if (fabs(d) >= UU_MAX_SAFE_DOUBLE)
    return uu_bad_at(bad, field, "%s: %.17g is a float beyond 2^53, not "
                     "exactly the integer that was written; give it as an "
                     "integer", field, d);
  return uu_json_integer(b, (long long)d) == UU_JOK
             ? 0 : uu_bad_nomem(bad, field);
}

int uu_write_number(lua_State *L, int idx, uu_buf *b, const char *field,
                        uu_bad *bad)
{
  double d;
#if UU_HAS_INT64
  if (lua_isinteger(L, idx))
    return uu_write_int(L, idx, b, field, bad);
#endif
  d = lua_tonumber(L, idx);
  if (d != d || d == HUGE_VAL || d == -HUGE_VAL)
    return uu_bad_at(bad, field, "%s: %s is not a JSON number", field,
                     d != d ? "NaN" : "infinity");
  return uu_json_number(b, d) == UU_JOK ? 0 : uu_bad_nomem(bad, field);
}

int uu_type_error(lua_State *L, int idx, const char *field,
                      const char *want, uu_bad *bad)
{
  return uu_bad_at(bad, field, "%s: expected %s, got %s", field, want,
                   luaL_typename(L, idx));
}

/* A scalar of the wrong type, a string shown quoted and cut (hidden for a
** secret field): `departmentID: expected integer, got string "12a"`. */
int uu_value_error(lua_State *L, int idx, const uu_field *f,
                       const char *field, const char *want, uu_bad *bad)
{
  char tmp[UU_SHOWN_BUF];
  size_t n;
  const char *s;
  if (lua_type(L, idx) != LUA_TSTRING)
    return uu_type_error(L, idx, field, want, bad);
  s = lua_tolstring(L, idx, &n);
  return uu_bad_at(bad, field, "%s: expected %s, got string %s", field, want,
                   uu_shown(f, s, n, tmp, sizeof tmp));
}

/* A string-shaped scalar: plain, enum, date or UUID. */
int uu_write_text(uu_client *c, lua_State *L, int idx, uu_buf *b,
                      const char *field, const uu_field *f, uu_bad *bad)
{
  size_t n;
  const char *s;
  if (lua_type(L, idx) != LUA_TSTRING)
    return uu_type_error(L, idx, field, "string", bad);
  s = lua_tolstring(L, idx, &n);
  return uu_write_chars(c, b, field, f, s, n, bad);
}

/* The same for a string's bytes already read (s, n). */
int uu_write_chars(uu_client *c, uu_buf *b, const char *field,
                   const uu_field *f, const char *s, size_t n, uu_bad *bad)
{
  char tmp[UU_SHOWN_BUF];
  if (f->kind == UU_ENUM && !uu_in_set(f->arg, s, n))
    return uu_bad_at(bad, field, "%s: %s is not one of %s", field,
                     uu_shown(f, s, n, tmp, sizeof tmp), f->arg);
  if (f->kind == UU_DATE && !uu_is_date(s, n))
    return uu_bad_at(bad, field, "%s: %s is not a date (YYYY-MM-DD or "
                     "ISO 8601 date-time)", field,
                     uu_shown(f, s, n, tmp, sizeof tmp));
  if (f->kind == UU_SFID && !uu_is_uuid(s, n) && !uu_is_sfid(s, n))
    return uu_bad_at(bad, field, "%s: %s is neither a UUID nor a Salesforce "
                     "id (15 or 18 letters and digits)", field,
                     uu_shown(f, s, n, tmp, sizeof tmp));
  if (f->kind == UU_UUID && !uu_is_uuid(s, n))
    return uu_bad_at(bad, field, "%s: %s is not a UUID "
                     "(8-4-4-4-12 hex digits)", field,
                     uu_shown(f, s, n, tmp, sizeof tmp));
  return write_string(c, b, field, f, s, n, bad);
}

/* Number of entries in a table, whatever their keys. */
size_t uu_count_keys(lua_State *L, int idx)
{
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    n++;
    lua_pop(L, 1);
  }
  return n;
}

/* Writes one list element, on top of the stack, named at in a message. */
typedef int (*elem_writer)(uu_client *c, lua_State *L, uu_buf *b,
                           const char *at, const uu_field *f, uu_bad *bad);

/* [e1,e2,...] for the n elements of the list at idx, each written by
** one() and named field[i]: the one loop of every list of values. */
static int write_elements(uu_client *c, lua_State *L, int idx, uu_buf *b,
                          const char *field, const uu_field *f,
                          elem_writer one, uu_bad *bad)
{
  size_t i, n = uu_rawlen(L, idx);
  char at[128];
  if (uu_buf_addc(b, '[') != 0)
    return uu_bad_nomem(bad, field);
  for (i = 1; i <= n; i++) {
    snprintf(at, sizeof at, "%s[%lu]", field, (unsigned long)i);
    lua_rawgeti(L, idx, (int)i);                   /* ..., elem */
    if ((i > 1 && uu_buf_addc(b, ',') != 0) ||
        one(c, L, b, at, f, bad) != 0) {
      lua_pop(L, 1);
      return bad->msg[0] ? -1 : uu_bad_nomem(bad, at);
    }
    lua_pop(L, 1);
  }
  if (uu_buf_addc(b, ']') != 0)
    return uu_bad_nomem(bad, field);
  return 0;
}

/* A string (or UUID) element of a list. */
static int write_elem_text(uu_client *c, lua_State *L, uu_buf *b,
                           const char *at, const uu_field *f, uu_bad *bad)
{
  return uu_write_text(c, L, -1, b, at, f, bad);
}

/* A list of strings (or UUIDs): a proper sequence; {} is []. */
int uu_write_list(uu_client *c, lua_State *L, int idx, uu_buf *b,
                  const char *field, const uu_field *f, uu_bad *bad)
{
  uu_field ef = *f;
  if (lua_type(L, idx) != LUA_TTABLE)
    return uu_type_error(L, idx, field, "a list (table)", bad);
  if (uu_count_keys(L, idx) != uu_rawlen(L, idx))
    return uu_bad_at(bad, field, "%s: expected a list (keys 1..n), "
                     "got a table with other keys", field);
  ef.kind = f->kind == UU_UUID_LIST ? UU_UUID : UU_STRING;
  return write_elements(c, L, idx, b, field, &ef, write_elem_text, bad);
}

/* A free-form object: string keys only at the top, any JSON below. */
int uu_write_object(uu_client *c, lua_State *L, int idx, uu_buf *b,
                        const char *field, uu_bad *bad)
{
  uu_jerr je;
  char where[224];
  if (lua_type(L, idx) != LUA_TTABLE)
    return uu_type_error(L, idx, field, "an object (table)", bad);
  lua_pushnil(L);
  if (lua_next(L, idx)) {
    int numeric = lua_type(L, -2) == LUA_TNUMBER;
    lua_pop(L, 2);
    if (numeric)
      return uu_bad_at(bad, field, "%s: expected an object (string keys), "
                       "got a list", field);
  }
  je.path[0] = '\0';
  if (uu_json_value(L, idx, b, UU_MAX_DEPTH, c->max_string, c->max_body,
                    &je) == UU_JOK)
    return 0;
  if (je.code == UU_JBIG)
    return uu_bad_big(c, bad, field);
  snprintf(where, sizeof where, "%s%s%s", field,
           je.path[0] && je.path[0] != '[' ? "." : "", je.path);
  return uu_bad_at(bad, where, "%s: %s", where, uu_json_strerror(je.code));
}

static int write_pair(uu_client *c, lua_State *L, uu_buf *b,
                      const char *field, int first, uu_bad *bad)
{
  uu_field sf = {"", UU_STRING, 0, NULL, NULL, NULL};
  char where[160];
  size_t kl;
  const char *k = lua_tolstring(L, -2, &kl);     /* ..., key, value */
  snprintf(where, sizeof where, "%s.%.*s", field, kl > 64 ? 64 : (int)kl, k);
  if (lua_type(L, -1) != LUA_TSTRING)
    return uu_type_error(L, -1, where, "string", bad);
  if ((!first && uu_buf_addc(b, ',') != 0) ||
      uu_buf_add(b, "{\"Key\":", 7) != 0 ||
      write_string(c, b, where, &sf, k, kl, bad) != 0 ||
      uu_buf_add(b, ",\"Value\":", 9) != 0 ||
      uu_write_text(c, L, -1, b, where, &sf, bad) != 0 ||
      uu_buf_addc(b, '}') != 0)
    return bad->msg[0] ? -1 : uu_bad_nomem(bad, where);
  return 0;
}

/* {"Key":k} or {"Key":k,"Value":v} from the Key and Value above item. */
static int write_key_value(uu_client *c, lua_State *L, uu_buf *b,
                           const char *at, int item, uu_bad *bad)
{
  uu_field sf = {"", UU_STRING, 0, NULL, NULL, NULL};
  if (uu_buf_add(b, "{\"Key\":", 7) != 0)
    return uu_bad_nomem(bad, at);
  if (uu_write_text(c, L, item + 1, b, at, &sf, bad) != 0)
    return -1;
  if (!lua_isnil(L, item + 2)) {
    if (uu_buf_add(b, ",\"Value\":", 9) != 0)
      return uu_bad_nomem(bad, at);
    if (uu_write_text(c, L, item + 2, b, at, &sf, bad) != 0)
      return -1;
  }
  return uu_buf_addc(b, '}') == 0 ? 0 : uu_bad_nomem(bad, at);
}

/* One item of a Metadata list given as a list: { Key = k [, Value = v] },
** written as given ({"Key":k} alone is the seed's only example). */
static int write_item(uu_client *c, lua_State *L, uu_buf *b, const char *at,
                      const uu_field *f, uu_bad *bad)
{
  int item = lua_gettop(L), rc;
  size_t n = 0;
  (void)f;                             /* Key and Value are plain strings */
  if (lua_type(L, item) != LUA_TTABLE)
    return uu_type_error(L, item, at, "a table { Key = k [, Value = v] }",
                         bad);
  lua_getfield(L, item, "Key");
  lua_getfield(L, item, "Value");
  n = uu_count_keys(L, item);
  if (lua_type(L, item + 1) != LUA_TSTRING)
    rc = uu_bad_at(bad, at, "%s: Key must be a string", at);
  else if (n != 1u + !lua_isnil(L, -1))
    rc = uu_bad_at(bad, at, "%s: only Key and Value may be given", at);
  else
    rc = write_key_value(c, L, b, at, item, bad);
  lua_settop(L, item);
  return rc;
}

/* Metadata given as a list of { Key = k [, Value = v] }: kept in order. */
static int write_items(uu_client *c, lua_State *L, int idx, uu_buf *b,
                       const char *field, uu_bad *bad)
{
  /* item, Key, Value, then uu_count_keys' key and value, and room for the
  ** text writer: the apicheck Lua caught 4 as one short. */
  luaL_checkstack(L, 8, "fields");
  return write_elements(c, L, idx, b, field, NULL, write_item, bad);
}

/* A Lua map {grade = "9"} becomes [{"Key":"grade","Value":"9"}], keys
** sorted so the bytes do not depend on hash order; a list of
** { Key = k [, Value = v] } goes as given. */
int uu_write_kvlist(uu_client *c, lua_State *L, int idx, uu_buf *b,
                        const char *field, uu_bad *bad)
{
  int top = lua_gettop(L), nkeys, i, keys;
  if (lua_type(L, idx) != LUA_TTABLE)
    return uu_type_error(L, idx, field, "a table of key = value", bad);
  if (uu_rawlen(L, idx) > 0 && uu_count_keys(L, idx) == uu_rawlen(L, idx))
    return write_items(c, L, idx, b, field, bad);
  nkeys = uu_json_sorted_keys(L, idx, 0);
  keys = lua_gettop(L);
  if (nkeys < 0) {
    lua_settop(L, top);
    return uu_bad_at(bad, field, "%s: keys must be strings", field);
  }
  if (uu_buf_addc(b, '[') != 0) {
    lua_settop(L, top);
    return uu_bad_nomem(bad, field);
  }
  for (i = 1; i <= nkeys; i++) {
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, idx);                            /* ..., keys, k, v */
    if (write_pair(c, L, b, field, i == 1, bad) != 0) {
      lua_settop(L, top);
      return -1;
    }
    lua_pop(L, 2);
  }
  lua_settop(L, top);
  if (uu_buf_addc(b, ']') != 0)
    return uu_bad_nomem(bad, field);
  return 0;
}
