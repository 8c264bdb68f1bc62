/*
** marshal.c: a Lua table of fields -> the vendor's JSON body, driven by the
** descriptor.  Validation and writing are one walk: nothing is sent unless
** every field passed, and the first problem is reported with its field.
**
** Keys come out in descriptor order (the seed's order), never in lua_next
** order, so the same input always gives the same bytes.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include "userupd.h"

#define MAX_FIELDS 64 /* the largest descriptor (Thought Industries) has 50 */
#define MAX_DEPTH 32  /* nesting inside free-form objects */

/* Where each descriptor field was given: absent, by its native name or by
** its cross-vendor name. */
enum { GIVEN_NO = 0, GIVEN_NATIVE, GIVEN_CANON };

static int bad_at(uu_bad *bad, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

#include <stdarg.h>
static int bad_at(uu_bad *bad, const char *field, const char *fmt, ...)
{
  va_list ap;
  snprintf(bad->field, sizeof bad->field, "%s", field);
  va_start(ap, fmt);
  vsnprintf(bad->msg, sizeof bad->msg, fmt, ap);
  va_end(ap);
  return -1;
}

static int is_null(lua_State *L, int idx)
{
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA &&
         lua_touserdata(L, idx) == NULL;
}

static int out_of_memory(uu_bad *bad, const char *field)
{
  return bad_at(bad, field, "%s: out of memory", field);
}

/* The nearest field name (native or cross-vendor), or NULL if none is
** close enough to be a plausible typo (suggest.c). */
static const char *nearest(const uu_vendor *v, const char *s, size_t n)
{
  const uu_field *f;
  uu_suggest sg;
  uu_suggest_init(&sg, s, n);
  for (f = v->fields; f->name != NULL; f++) {
    uu_suggest_try(&sg, f->name);
    uu_suggest_try(&sg, f->canon);
  }
  return sg.best;
}

static int is_canon_name(const char *s)
{
  return strcmp(s, "first_name") == 0 || strcmp(s, "last_name") == 0 ||
         strcmp(s, "email") == 0 || strcmp(s, "external_id") == 0;
}

static int unknown_field(const uu_vendor *v, const char *s, size_t n,
                         uu_bad *bad)
{
  char name[64];
  const char *near;
  snprintf(name, sizeof name, "%.*s%s", n > 48 ? 48 : (int)n, s,
           n > 48 ? "..." : "");
  if (is_canon_name(name))
    return bad_at(bad, name, "%s: %s has no such field", name, v->name);
  near = nearest(v, s, n);
  if (near != NULL)
    return bad_at(bad, name, "unknown field '%s' (did you mean '%s'?)",
                  name, near);
  return bad_at(bad, name, "unknown field '%s' for %s", name, v->name);
}

/* ---- scalar checks --------------------------------------------------- */

static int is_hex(int c)
{
  return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f');
}

/* 8-4-4-4-12 hex digits. */
static int is_uuid(const char *s, size_t n)
{
  size_t i;
  if (n != 36)
    return 0;
  for (i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return 0;
    } else if (!is_hex((unsigned char)s[i]))
      return 0;
  }
  return 1;
}

/* A Salesforce record id: 15 case-sensitive or 18 case-safe characters
** from [A-Za-z0-9] (0031U00001abcdeQAA).  The seed types sfContactId and
** sfAccountId as uuid, which no Salesforce id is, so both are taken. */
static int is_sfid(const char *s, size_t n)
{
  size_t i;
  if (n != 15 && n != 18)
    return 0;
  for (i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
          (s[i] >= 'A' && s[i] <= 'Z')))
      return 0;
  return 1;
}

static int num(const char *s, int n)
{
  int i, v = 0;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* YYYY-MM-DD that names a real day. */
static int valid_ymd(const char *s)
{
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
  if (y < 0 || s[4] != '-' || s[7] != '-' || m < 1 || m > 12 || d < 1 ||
      d > mdays[m - 1])
    return 0;
  return !(m == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400)));
}

/* "Z", "+HH:MM" or "-HH:MM", or nothing. */
static int valid_zone(const char *s, size_t n)
{
  if (n == 0 || (n == 1 && s[0] == 'Z'))
    return 1;
  return n == 6 && (s[0] == '+' || s[0] == '-') && num(s + 1, 2) >= 0 &&
         num(s + 1, 2) < 24 && s[3] == ':' && num(s + 4, 2) >= 0 &&
         num(s + 4, 2) < 60;
}

/* YYYY-MM-DD, or that plus THH:MM[:SS[.fff]] and a zone (ISO 8601). */
static int is_date(const char *s, size_t n)
{
  size_t i = 16;
  if (n < 10 || !valid_ymd(s))
    return 0;
  if (n == 10)
    return 1;
  if (n < 16 || s[10] != 'T' || num(s + 11, 2) < 0 || num(s + 11, 2) > 23 ||
      s[13] != ':' || num(s + 14, 2) < 0 || num(s + 14, 2) > 59)
    return 0;
  if (i < n && s[i] == ':') {
    if (n < 19 || num(s + 17, 2) < 0 || num(s + 17, 2) > 60)
      return 0;
    i = 19;
    if (i < n && s[i] == '.') {
      for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        ;
      if (i == 20)
        return 0;
    }
  }
  return valid_zone(s + i, n - i);
}

/* "M" in "M|F": the one membership test for enums and option choices. */
int uu_in_set(const char *set, const char *s, size_t n)
{
  const char *p = set, *bar;
  for (;;) {
    bar = strchr(p, '|');
    if ((size_t)((bar ? bar : p + strlen(p)) - p) == n &&
        memcmp(p, s, n) == 0)
      return 1;
    if (bar == NULL)
      return 0;
    p = bar + 1;
  }
}

/* A value echoed in a message is cut after UU_SHOWN_MAX characters, with
** "..." to say so (docs/cli.md states the length); SHOWN_BUF holds the
** quotes, the cut text, the ellipsis and the terminator. */
#define UU_SHOWN_MAX 40
#define SHOWN_BUF (UU_SHOWN_MAX + 8)

/* The first max bytes of s, printable ASCII only (others as '?'), and
** "..." when s is longer: never a silent cut. */
static const char *cut(const char *s, size_t n, char *out, size_t outlen,
                       size_t max)
{
  size_t i, k = n > max ? max : n;
  for (i = 0; i < k && i + 4 < outlen; i++)
    out[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
  out[i] = '\0';
  if (i < n)
    strcat(out, "...");
  return out;
}

/* Short, safe echo of a bad value, quoted: never for secret fields. */
static const char *shown(const uu_field *f, const char *s, size_t n,
                         char *out, size_t outlen)
{
  if (f->flags & UU_SECRET)
    return "(hidden)";
  out[0] = '"';
  cut(s, n, out + 1, outlen - 2, UU_SHOWN_MAX);
  strcat(out, "\"");
  return out;
}

/* ---- writing values --------------------------------------------------- */

static int write_string(uu_client *c, uu_buf *b, const char *field,
                        const uu_field *f, const char *s, size_t n,
                        uu_bad *bad)
{
  int rc;
  if (n > c->max_string)
    return bad_at(bad, field, "%s: string of %lu bytes is over the limit "
                  "of %lu", field, (unsigned long)n,
                  (unsigned long)c->max_string);
  rc = uu_json_string(b, s, n);
  if (rc == UU_JUTF8)
    return bad_at(bad, field, "%s: invalid UTF-8 at byte %lu", field,
                  (unsigned long)uu_utf8_check(s, n) + 1);
  (void)f;
  return rc == UU_JOK ? 0 : out_of_memory(bad, field);
}

/* Integers are exact: 64-bit on 5.3+, up to 2^53 where Lua has only
** doubles (a larger double is not the integer the caller meant). */
static int write_int(lua_State *L, int idx, uu_buf *b, const char *field,
                     uu_bad *bad)
{
  double d;
#if UU_HAS_INT64
  if (lua_isinteger(L, idx))
    return uu_json_integer(b, (long long)lua_tointeger(L, idx)) == UU_JOK
               ? 0 : out_of_memory(bad, field);
#endif
  d = lua_tonumber(L, idx);
  if (d != d || d == HUGE_VAL || d == -HUGE_VAL)
    return bad_at(bad, field, "%s: expected an integer, got %s", field,
                  d != d ? "NaN" : "infinity");
  if (floor(d) != d)
    return bad_at(bad, field, "%s: expected an integer, got %.17g", field, d);
  if (UU_HAS_INT64 ? (d < -9223372036854775808.0 ||
                      d >= 9223372036854775808.0)
                   : (fabs(d) > UU_MAX_SAFE_DOUBLE))
    return bad_at(bad, field, "%s: integer %.17g is out of range", field, d);
  return uu_json_integer(b, (long long)d) == UU_JOK
             ? 0 : out_of_memory(bad, field);
}

static int write_number(lua_State *L, int idx, uu_buf *b, const char *field,
                        uu_bad *bad)
{
  double d;
#if UU_HAS_INT64
  if (lua_isinteger(L, idx))
    return write_int(L, idx, b, field, bad);
#endif
  d = lua_tonumber(L, idx);
  if (d != d || d == HUGE_VAL || d == -HUGE_VAL)
    return bad_at(bad, field, "%s: %s is not a JSON number", field,
                  d != d ? "NaN" : "infinity");
  return uu_json_number(b, d) == UU_JOK ? 0 : out_of_memory(bad, field);
}

static int type_error(lua_State *L, int idx, const char *field,
                      const char *want, uu_bad *bad)
{
  return bad_at(bad, field, "%s: expected %s, got %s", field, want,
                luaL_typename(L, idx));
}

/* A scalar of the wrong type, a string shown quoted and cut (hidden for a
** secret field): `departmentID: expected integer, got string "12a"`. */
static int value_error(lua_State *L, int idx, const uu_field *f,
                       const char *field, const char *want, uu_bad *bad)
{
  char tmp[SHOWN_BUF];
  size_t n;
  const char *s;
  if (lua_type(L, idx) != LUA_TSTRING)
    return type_error(L, idx, field, want, bad);
  s = lua_tolstring(L, idx, &n);
  return bad_at(bad, field, "%s: expected %s, got string %s", field, want,
                shown(f, s, n, tmp, sizeof tmp));
}

/* A string-shaped scalar: plain, enum, date or UUID. */
static int write_text(uu_client *c, lua_State *L, int idx, uu_buf *b,
                      const char *field, const uu_field *f, uu_bad *bad)
{
  size_t n;
  const char *s;
  char tmp[SHOWN_BUF];
  if (lua_type(L, idx) != LUA_TSTRING)
    return type_error(L, idx, field, "string", bad);
  s = lua_tolstring(L, idx, &n);
  if (f->kind == UU_ENUM && !uu_in_set(f->arg, s, n))
    return bad_at(bad, field, "%s: %s is not one of %s", field,
                  shown(f, s, n, tmp, sizeof tmp), f->arg);
  if (f->kind == UU_DATE && !is_date(s, n))
    return bad_at(bad, field, "%s: %s is not a date (YYYY-MM-DD or "
                  "ISO 8601 date-time)", field,
                  shown(f, s, n, tmp, sizeof tmp));
  if (f->kind == UU_SFID && !is_uuid(s, n) && !is_sfid(s, n))
    return bad_at(bad, field, "%s: %s is neither a UUID nor a Salesforce "
                  "id (15 or 18 letters and digits)", field,
                  shown(f, s, n, tmp, sizeof tmp));
  if (f->kind == UU_UUID && !is_uuid(s, n))
    return bad_at(bad, field, "%s: %s is not a UUID "
                  "(8-4-4-4-12 hex digits)", field,
                  shown(f, s, n, tmp, sizeof tmp));
  return write_string(c, b, field, f, s, n, bad);
}

/* Number of entries in a table, whatever their keys. */
static size_t count_keys(lua_State *L, int idx)
{
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    n++;
    lua_pop(L, 1);
  }
  return n;
}

/* A list of strings (or UUIDs): a proper sequence; {} is []. */
static int write_list(uu_client *c, lua_State *L, int idx, uu_buf *b,
                      const char *field, const uu_field *f, uu_bad *bad)
{
  size_t i, n;
  char elem[128];
  uu_field ef = *f;
  if (lua_type(L, idx) != LUA_TTABLE)
    return type_error(L, idx, field, "a list (table)", bad);
  n = uu_rawlen(L, idx);
  if (count_keys(L, idx) != n)
    return bad_at(bad, field, "%s: expected a list (keys 1..n), "
                  "got a table with other keys", field);
  ef.kind = f->kind == UU_UUID_LIST ? UU_UUID : UU_STRING;
  if (uu_buf_addc(b, '[') != 0)
    return out_of_memory(bad, field);
  for (i = 1; i <= n; i++) {
    snprintf(elem, sizeof elem, "%s[%lu]", field, (unsigned long)i);
    lua_rawgeti(L, idx, (int)i);                   /* ..., elem */
    if ((i > 1 && uu_buf_addc(b, ',') != 0) ||
        write_text(c, L, -1, b, elem, &ef, bad) != 0) {
      lua_pop(L, 1);
      return bad->msg[0] ? -1 : out_of_memory(bad, elem);
    }
    lua_pop(L, 1);
  }
  return uu_buf_addc(b, ']') == 0 ? 0 : out_of_memory(bad, field);
}

/* A free-form object: string keys only at the top, any JSON below. */
static int write_object(uu_client *c, lua_State *L, int idx, uu_buf *b,
                        const char *field, uu_bad *bad)
{
  uu_jerr je;
  char where[224];
  if (lua_type(L, idx) != LUA_TTABLE)
    return type_error(L, idx, field, "an object (table)", bad);
  lua_pushnil(L);
  if (lua_next(L, idx)) {
    int numeric = lua_type(L, -2) == LUA_TNUMBER;
    lua_pop(L, 2);
    if (numeric)
      return bad_at(bad, field, "%s: expected an object (string keys), "
                    "got a list", field);
  }
  je.path[0] = '\0';
  if (uu_json_value(L, idx, b, MAX_DEPTH, c->max_string, &je) == UU_JOK)
    return 0;
  snprintf(where, sizeof where, "%s%s%s", field,
           je.path[0] && je.path[0] != '[' ? "." : "", je.path);
  return bad_at(bad, where, "%s: %s", where, uu_json_strerror(je.code));
}

/* ---- key/value lists (Forms On Fire Metadata) ----------------------- */

static int write_pair(uu_client *c, lua_State *L, uu_buf *b,
                      const char *field, int first, uu_bad *bad)
{
  uu_field sf = {"", UU_STRING, 0, NULL, NULL, NULL};
  char where[160];
  size_t kl;
  const char *k = lua_tolstring(L, -2, &kl);     /* ..., key, value */
  snprintf(where, sizeof where, "%s.%.*s", field, kl > 64 ? 64 : (int)kl, k);
  if (lua_type(L, -1) != LUA_TSTRING)
    return type_error(L, -1, where, "string", bad);
  if ((!first && uu_buf_addc(b, ',') != 0) ||
      uu_buf_add(b, "{\"Key\":", 7) != 0 ||
      write_string(c, b, where, &sf, k, kl, bad) != 0 ||
      uu_buf_add(b, ",\"Value\":", 9) != 0 ||
      write_text(c, L, -1, b, where, &sf, bad) != 0 ||
      uu_buf_addc(b, '}') != 0)
    return bad->msg[0] ? -1 : out_of_memory(bad, where);
  return 0;
}

/* One item of a Metadata list given as a list: { Key = k [, Value = v] },
** written as given ({"Key":k} alone is the seed's only example). */
static int write_item(uu_client *c, lua_State *L, uu_buf *b, const char *at,
                      uu_bad *bad)
{
  uu_field sf = {"", UU_STRING, 0, NULL, NULL, NULL};
  int item = lua_gettop(L), rc;
  size_t n = 0;
  if (lua_type(L, item) != LUA_TTABLE)
    return type_error(L, item, at, "a table { Key = k [, Value = v] }", bad);
  lua_getfield(L, item, "Key");
  lua_getfield(L, item, "Value");
  n = count_keys(L, item);
  if (lua_type(L, item + 1) != LUA_TSTRING)
    return lua_settop(L, item), bad_at(bad, at, "%s: Key must be a string",
                                       at);
  if (n != 1u + !lua_isnil(L, -1))
    return lua_settop(L, item), bad_at(bad, at, "%s: only Key and Value "
                                       "may be given", at);
  rc = uu_buf_add(b, "{\"Key\":", 7) != 0 ? out_of_memory(bad, at)
       : write_text(c, L, item + 1, b, at, &sf, bad);
  if (rc == 0 && !lua_isnil(L, -1))
    rc = uu_buf_add(b, ",\"Value\":", 9) != 0 ? out_of_memory(bad, at)
         : write_text(c, L, item + 2, b, at, &sf, bad);
  lua_settop(L, item);
  return rc != 0 ? -1 : uu_buf_addc(b, '}') == 0 ? 0 : out_of_memory(bad, at);
}

/* Metadata given as a list of { Key = k [, Value = v] }: kept in order. */
static int write_items(uu_client *c, lua_State *L, int idx, uu_buf *b,
                       const char *field, uu_bad *bad)
{
  size_t i, n = uu_rawlen(L, idx);
  char at[128];
  /* item, Key, Value, then count_keys' key and value, and room for the
  ** text writer: the apicheck Lua caught 4 as one short. */
  luaL_checkstack(L, 8, "fields");
  if (uu_buf_addc(b, '[') != 0)
    return out_of_memory(bad, field);
  for (i = 1; i <= n; i++) {
    snprintf(at, sizeof at, "%s[%lu]", field, (unsigned long)i);
    lua_rawgeti(L, idx, (int)i);
    if ((i > 1 && uu_buf_addc(b, ',') != 0) ||
        write_item(c, L, b, at, bad) != 0) {
      lua_pop(L, 1);
      return bad->msg[0] ? -1 : out_of_memory(bad, at);
    }
    lua_pop(L, 1);
  }
  return uu_buf_addc(b, ']') == 0 ? 0 : out_of_memory(bad, field);
}

/* Pushes a list of the table's keys, sorted: their count, or -1 (with
** the list still pushed) when a key is not a string. */
static int push_sorted_keys(lua_State *L, int idx)
{
  int n = 0, keys;
  luaL_checkstack(L, 6, "fields");           /* keys, k, v, copies, sort */
  lua_newtable(L);                                 /* ..., keys */
  keys = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_settop(L, keys);
      return -1;
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, ++n);
  }
  lua_getglobal(L, "table");                       /* sort with Lua's own */
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, keys);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  return n;
}

/* A Lua map {grade = "9"} becomes [{"Key":"grade","Value":"9"}], keys
** sorted so the bytes do not depend on hash order; a list of
** { Key = k [, Value = v] } goes as given. */
static int write_kvlist(uu_client *c, lua_State *L, int idx, uu_buf *b,
                        const char *field, uu_bad *bad)
{
  int top = lua_gettop(L), nkeys, i, keys;
  if (lua_type(L, idx) != LUA_TTABLE)
    return type_error(L, idx, field, "a table of key = value", bad);
  if (uu_rawlen(L, idx) > 0 && count_keys(L, idx) == uu_rawlen(L, idx))
    return write_items(c, L, idx, b, field, bad);
  nkeys = push_sorted_keys(L, idx);
  keys = lua_gettop(L);
  if (nkeys < 0)
    return lua_settop(L, top), bad_at(bad, field, "%s: keys must be "
                                      "strings", field);
  if (uu_buf_addc(b, '[') != 0)
    return lua_settop(L, top), out_of_memory(bad, field);
  for (i = 1; i <= nkeys; i++) {
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, idx);                            /* ..., keys, k, v */
    if (write_pair(c, L, b, field, i == 1, bad) != 0)
      return lua_settop(L, top), -1;
    lua_pop(L, 2);
  }
  lua_settop(L, top);
  return uu_buf_addc(b, ']') == 0 ? 0 : out_of_memory(bad, field);
}

/* ---- one record ------------------------------------------------------- */

/* Everything one marshal call tracks about the record. */
typedef struct walk {
  uu_client *c;
  lua_State *L;
  int idx;                       /* the fields table */
  unsigned char given[MAX_FIELDS];
  unsigned char nulled[MAX_FIELDS]; /* cleared via the vendor's null list */
  unsigned char listed[MAX_FIELDS]; /* named in the explicit null list */
  int slot[MAX_FIELDS];            /* where each given value sits */
  int nfields;
  int nnull;
  uu_buf *b;
  int first;
  uu_bad *bad;
} walk;

static const char *given_name(const walk *w, const uu_field *f)
{
  return w->given[f - w->c->v->fields] == GIVEN_CANON ? f->canon : f->name;
}

/* Pass 1: every key must name a field, and no field twice.  Unknown keys
** are reported smallest first, so the message does not depend on hash
** order. */
/* The client's name -> field table: { FirstName = 1, first_name = -1, ...}
** (index + 1, negative for a cross-vendor name), built on first use.  A
** look-up is one hash probe on the key Lua already interned. */
static int push_names(lua_State *L, uu_client *c)
{
  const uu_field *f;
  int i;
  if (c->names_ref != LUA_NOREF && c->names_ref != LUA_REFNIL) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->names_ref);
    return lua_gettop(L);
  }
  lua_newtable(L);
  for (f = c->v->fields, i = 1; f->name != NULL; f++, i++) {
    lua_pushinteger(L, i);
    lua_setfield(L, -2, f->name);
    if (f->canon != NULL) {
      lua_pushinteger(L, -i);
      lua_setfield(L, -2, f->canon);
    }
  }
  lua_pushvalue(L, -1);
  c->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return lua_gettop(L);
}

/* A key (under its value) that names no field: the first in byte order
** is kept for the error; a key that is no string is an error now.  Pops
** the value. */
static int note_unknown(walk *w, const char **unknown, size_t *ul)
{
  const char *k, *t;
  size_t kl;
  if (lua_type(w->L, -2) != LUA_TSTRING) {
    t = luaL_typename(w->L, -2);
    lua_pop(w->L, 2);
    return bad_at(w->bad, "?", "field names must be strings, got a %s "
                  "key (is fields a list instead of a table of names?)", t);
  }
  k = lua_tolstring(w->L, -2, &kl);
  if (*unknown == NULL || strcmp(k, *unknown) < 0)
    *unknown = k, *ul = kl;                        /* the table holds it */
  lua_pop(w->L, 1);
  return 0;
}

/* The value on top for the field at index at of the names table (< 0:
** given by its cross-vendor name) goes to that field's stack slot. */
static int keep_field(walk *w, int at, int base)
{
  const uu_field *f;
  int i = (at < 0 ? -at : at) - 1;
  if (i < 0 || i >= w->nfields) {                  /* the table is ours */
    lua_pop(w->L, 2);
    return bad_at(w->bad, "?", "internal: bad field index");
  }
  f = &w->c->v->fields[i];
  if (w->given[i] != GIVEN_NO) {
    lua_pop(w->L, 2);
    return bad_at(w->bad, f->name, "%s: given twice, as '%s' and '%s'",
                  f->name, f->name, f->canon);
  }
  w->given[i] = at < 0 ? GIVEN_CANON : GIVEN_NATIVE;
  w->slot[i] = base + 1 + i;
  lua_replace(w->L, w->slot[i]);                   /* the value, kept */
  return 0;
}

/* Every key of the fields table to its field's slot (a slot per field
** above the names table); an unknown name fails with the closest one. */
static int scan_keys(walk *w)
{
  const char *unknown = NULL;
  size_t ul = 0;
  int names = push_names(w->L, w->c), base = names, at, rc;
  luaL_checkstack(w->L, w->nfields + 4, "fields");
  lua_settop(w->L, base + w->nfields);             /* a slot per field */
  lua_pushnil(w->L);
  while (lua_next(w->L, w->idx)) {                 /* ..., key, value */
    lua_pushvalue(w->L, -2);
    lua_rawget(w->L, names);                       /* ..., key, value, at */
    at = (int)lua_tointeger(w->L, -1);
    lua_pop(w->L, 1);
    rc = at == 0 ? note_unknown(w, &unknown, &ul) : keep_field(w, at, base);
    if (rc != 0)
      return rc;
  }
  if (unknown != NULL)
    return unknown_field(w->c->v, unknown, ul, w->bad);
  return 0;
}

/* The vendor's explicit null list (Blackbaud FieldsToNull): each entry must
** name one of the vendor's own fields. */
static int scan_null_list(walk *w, const uu_field *nf)
{
  const uu_field *f;
  const char *s;
  size_t n, i, len;
  int canon;
  char where[96];
  luaL_checkstack(w->L, 4, "fields");
  if (lua_type(w->L, -1) != LUA_TTABLE)
    return type_error(w->L, -1, nf->name, "a list of field names", w->bad);
  len = uu_rawlen(w->L, -1);
  if (count_keys(w->L, lua_gettop(w->L)) != len)
    return bad_at(w->bad, nf->name, "%s: expected a list (keys 1..n)",
                  nf->name);
  for (i = 1; i <= len; i++) {
    snprintf(where, sizeof where, "%s[%lu]", nf->name, (unsigned long)i);
    lua_rawgeti(w->L, -1, (int)i);
    s = lua_tolstring(w->L, -1, &n);
    f = lua_type(w->L, -1) == LUA_TSTRING
            ? uu_field_find(w->c->v, s, n, &canon) : NULL;
    lua_pop(w->L, 1);
    if (f == NULL || canon || f == nf)
      return bad_at(w->bad, where, "%s: not a %s field name", where,
                    w->c->v->name);
    w->listed[f - w->c->v->fields] = 1;
  }
  return 0;
}

/* A replace* flag set to true replaces the user's access with the lists
** given; any list left out would go as [] and silently remove everything.
** So every list it replaces must be given explicitly. */
static int check_guard(walk *w, const uu_field *f)
{
  const char *p = f->arg, *bar;
  const uu_field *lf;
  int canon;
  size_t n;
  if (!lua_toboolean(w->L, -1))
    return 0;
  for (;;) {
    bar = strchr(p, '|');
    n = bar ? (size_t)(bar - p) : strlen(p);
    lf = uu_field_find(w->c->v, p, n, &canon);
    if (lf != NULL && w->given[lf - w->c->v->fields] == GIVEN_NO)
      return bad_at(w->bad, f->name, "%s = true replaces the user's "
                    "access, but %.*s was not given and would wipe it; give "
                    "every list it replaces (an empty table to clear one)",
                    f->name, (int)n, p);
    if (bar == NULL)
      return 0;
    p = bar + 1;
  }
}

/* One given value, already on top of the stack. */
static int write_value(walk *w, const uu_field *f, const char *field)
{
  lua_State *L = w->L;
  int t = lua_type(L, -1);
  switch (f->kind) {
  case UU_INT:
  case UU_NUMBER:
    if (t != LUA_TNUMBER)
      return value_error(L, -1, f, field, f->kind == UU_INT ? "integer"
                         : "number", w->bad);
    return f->kind == UU_INT ? write_int(L, -1, w->b, field, w->bad)
                             : write_number(L, -1, w->b, field, w->bad);
  case UU_BOOL:
    if (t != LUA_TBOOLEAN)
      return value_error(L, -1, f, field, "boolean", w->bad);
    return uu_buf_add(w->b, lua_toboolean(L, -1) ? "true" : "false",
                      lua_toboolean(L, -1) ? 4 : 5) == 0
               ? 0 : out_of_memory(w->bad, field);
  case UU_STRING_LIST:
  case UU_UUID_LIST:
  case UU_NAME_LIST:
    return write_list(w->c, L, lua_gettop(L), w->b, field, f, w->bad);
  case UU_OBJECT:
    return write_object(w->c, L, lua_gettop(L), w->b, field, w->bad);
  case UU_KV_LIST:
    return write_kvlist(w->c, L, lua_gettop(L), w->b, field, w->bad);
  default:
    return write_text(w->c, L, -1, w->b, field, f, w->bad);
  }
}

/* ,"name": -- descriptor names are plain ASCII, so no escaping pass. */
static int write_key(walk *w, const char *name)
{
  size_t n = strlen(name);
  if (uu_buf_reserve(w->b, n + 4) != 0)
    return out_of_memory(w->bad, name);
  if (!w->first)
    w->b->p[w->b->n++] = ',';
  w->b->p[w->b->n++] = '"';
  memcpy(w->b->p + w->b->n, name, n);
  w->b->n += n;
  w->b->p[w->b->n++] = '"';
  w->b->p[w->b->n++] = ':';
  w->b->p[w->b->n] = '\0';
  w->first = 0;
  return 0;
}

/* userupd.null for field f: the vendor's own null list where its seed
** documents one (Blackbaud FieldsToNull); JSON null only when the client
** opted in with send_null, because no other seed says null clears. */
static int write_null(walk *w, const uu_field *f, const char *name)
{
  const uu_vendor *v = w->c->v;
  if (f->flags & UU_NONULL)
    return bad_at(w->bad, name, "%s: cannot be cleared with userupd.null%s",
                  name, f->kind == UU_KV_LIST || f->kind == UU_STRING_LIST ||
                  f->kind == UU_UUID_LIST ? "; give {} for an empty list"
                                          : "");
  if (v->null_list != NULL)
    return (w->nulled[f - v->fields] = 1), 0;
  if (!w->c->send_null)
    return bad_at(w->bad, name, "%s: userupd.null refused: %s documents no "
                  "way to clear a field; set send_null = true on the client "
                  "to send JSON null anyway", name, v->name);
  return write_key(w, f->name) != 0 || uu_buf_add(w->b, "null", 4) != 0
             ? -1 : 0;
}

/* Pass 2, one descriptor field.  The explicit null list is written last,
** by write_nulls, once every cleared field is known. */
static int write_field(walk *w, const uu_field *f)
{
  lua_State *L = w->L;
  int i = (int)(f - w->c->v->fields), rc;
  const char *name;
  /* scan_keys used up the room reserved so far: a value and what its
  ** writer pushes need their own (lists push an element, objects recurse
  ** with their own checks) */
  luaL_checkstack(L, 4, "fields");
  if (w->given[i] == GIVEN_NO)
    return (f->flags & UU_REQLIST)
               ? (write_key(w, f->name) != 0 ||
                  uu_buf_add(w->b, "[]", 2) != 0 ? -1 : 0)
               : 0;
  name = given_name(w, f);
  lua_pushvalue(L, w->slot[i]);                    /* ..., value */
  if (is_null(L, -1)) {
    lua_pop(L, 1);
    return write_null(w, f, name);
  }
  if (w->listed[i]) {
    lua_pop(L, 1);
    return bad_at(w->bad, name, "%s: given a value and also listed in %s",
                  name, w->c->v->null_list);
  }
  rc = (f->flags & UU_GUARD) ? check_guard(w, f) : 0;
  if (rc == 0 && (rc = write_key(w, f->name)) == 0)
    rc = write_value(w, f, name);
  lua_pop(L, 1);
  return rc;
}

/* "FieldsToNull":[...] in descriptor order, if anything is cleared. */
static int write_nulls(walk *w, const uu_field *nf)
{
  const uu_field *f;
  int i, any = 0;
  for (f = w->c->v->fields; f->name != NULL; f++) {
    i = (int)(f - w->c->v->fields);
    if (!w->nulled[i] && !w->listed[i])
      continue;
    if ((!any && (write_key(w, nf->name) != 0 ||
                  uu_buf_addc(w->b, '[') != 0)) ||
        (any && uu_buf_addc(w->b, ',') != 0) ||
        uu_json_string(w->b, f->name, strlen(f->name)) != UU_JOK)
      return out_of_memory(w->bad, nf->name);
    any = 1;
  }
  return any && uu_buf_addc(w->b, ']') != 0 ? out_of_memory(w->bad, nf->name)
                                            : 0;
}

static const uu_field *null_field(const uu_vendor *v)
{
  int canon;
  return v->null_list == NULL ? NULL
         : uu_field_find(v, v->null_list, strlen(v->null_list), &canon);
}

static int walk_fields(walk *w, const uu_field *nf)
{
  const uu_field *f;
  for (f = w->c->v->fields; f->name != NULL; f++)
    if (f != nf && write_field(w, f) != 0)
      return -1;
  return nf != NULL ? write_nulls(w, nf) : 0;
}

/* ---- extra members (fields the descriptor lacks) ---------------------- */

/* What a name extra may not take: one of the descriptor's fields (native
** or cross-vendor), or a member userupd writes itself (body id,
** credentials); NULL when the name is free. */
static const char *extra_name_taken(const uu_client *c, const char *k,
                                    size_t n)
{
  const uu_bodycred *bc;
  int canon;
  if (uu_field_find(c->v, k, n, &canon) != NULL)
    return "is a documented field; give it in fields, not extra";
  if (c->v->id_body != NULL && strlen(c->v->id_body) == n &&
      memcmp(c->v->id_body, k, n) == 0)
    return "is written by userupd itself (the id)";
  for (bc = c->v->body_creds; bc != NULL && bc->json != NULL; bc++)
    if (strlen(bc->json) == n && memcmp(bc->json, k, n) == 0)
      return "is written by userupd itself (a credential)";
  return NULL;
}

/* userupd.null as an extra value: JSON null only with send_null. */
static int extra_null(walk *w, const char *at)
{
  if (w->c->v->null_list != NULL)
    return bad_at(w->bad, at, "%s: userupd.null refused: %s clears fields "
                  "through %s, not JSON null; set send_null = true on the "
                  "client to send JSON null anyway", at, w->c->v->name,
                  w->c->v->null_list);
  return bad_at(w->bad, at, "%s: userupd.null refused: %s documents no way "
                "to clear a field; set send_null = true on the client to "
                "send JSON null anyway", at, w->c->v->name);
}

/* ,"name":value for one extra member; the value at index value, checked
** as JSON only (UTF-8, finite numbers, no cycles, depth, length). */
static int write_extra_member(walk *w, int value, const char *k, size_t kl)
{
  char at[96], where[224];
  const char *taken;
  uu_jerr je;
  int rc;
  snprintf(at, sizeof at, "extra.%s", cut(k, kl, where, sizeof where, 24));
  if (kl == 0)
    return bad_at(w->bad, "extra", "extra: a member name must not be empty");
  if ((taken = extra_name_taken(w->c, k, kl)) != NULL)
    return bad_at(w->bad, at, "%s: '%s' %s", at, at + 6, taken);
  if (is_null(w->L, value) && !w->c->send_null)
    return extra_null(w, at);
  if ((!w->first && uu_buf_addc(w->b, ',') != 0) ||
      (rc = uu_json_string(w->b, k, kl)) == UU_JNOMEM ||
      (rc == UU_JOK && uu_buf_addc(w->b, ':') != 0))
    return out_of_memory(w->bad, at);
  if (rc != UU_JOK)
    return bad_at(w->bad, at, "%s: the name is %s", at, uu_json_strerror(rc));
  w->first = 0;
  je.path[0] = '\0';
  if ((rc = uu_json_value(w->L, value, w->b, MAX_DEPTH, w->c->max_string,
                          &je)) == UU_JOK)
    return 0;
  snprintf(where, sizeof where, "%s%s%s", at,
           je.path[0] && je.path[0] != '[' ? "." : "", je.path);
  return bad_at(w->bad, where, "%s: %s", where, uu_json_strerror(rc));
}

/* extra = { Name = value }: after the documented fields, names sorted so
** the same input gives the same bytes. */
static int write_extra(walk *w, int extra)
{
  lua_State *L = w->L;
  int top = lua_gettop(L), n, i, keys;
  const char *k;
  size_t kl;
  if (lua_type(L, extra) != LUA_TTABLE)
    return type_error(L, extra, "extra", "a table of name = value", w->bad);
  n = push_sorted_keys(L, extra);
  keys = lua_gettop(L);
  if (n < 0)
    return lua_settop(L, top), bad_at(w->bad, "extra", "extra: member "
                                      "names must be strings");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, extra);                          /* ..., keys, k, v */
    k = lua_tolstring(L, -2, &kl);
    if (write_extra_member(w, lua_gettop(L), k, kl) != 0)
      return lua_settop(L, top), -1;
    lua_pop(L, 2);
  }
  lua_settop(L, top);
  return 0;
}

/* Pushes the sorted names of a non-empty extra table and returns 1; 0
** (nothing pushed) for none.  tostring(request) and --dry-run mark them. */
int uu_push_extra_names(lua_State *L, int extra)
{
  if (extra == 0 || lua_type(L, extra) != LUA_TTABLE ||
      count_keys(L, uu_absindex(L, extra)) == 0)
    return 0;
  if (push_sorted_keys(L, uu_absindex(L, extra)) < 0) {
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}

/* opts.extra (opts at index opts, a table or none) pushed: its index, or
** 0 with nothing pushed when there is none. */
int uu_extra_arg(lua_State *L, int opts)
{
  if (lua_type(L, opts) != LUA_TTABLE)
    return 0;
  lua_getfield(L, opts, "extra");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  return lua_gettop(L);
}

/* ---- one record, whole ------------------------------------------------ */

static int walk_init(walk *w, uu_client *c, lua_State *L, int idx,
                     uu_buf *body, uu_bad *bad)
{
  memset(w, 0, sizeof *w);
  w->c = c, w->L = L, w->idx = uu_absindex(L, idx), w->b = body;
  w->bad = bad, w->first = 1;
  for (w->nfields = 0; c->v->fields[w->nfields].name != NULL; w->nfields++)
    ;
  bad->field[0] = bad->msg[0] = '\0';
  body->n = 0;
  luaL_checkstack(L, 12, "fields");
  if (w->nfields > MAX_FIELDS)
    return bad_at(bad, "?", "vendor descriptor has too many fields");
  return scan_keys(w);
}

/* The record at idx (and the extra members at extra, 0 for none) ->
** body.  *fields_end is where the credentials begin, so a payload hash or
** a kept copy never includes a secret of the client's (the caller drops
** UU_SECRET fields itself where it must). */
int uu_marshal_x(uu_client *c, lua_State *L, int idx, int extra,
                 const char *id, size_t idlen, uu_buf *body,
                 size_t *fields_end, uu_bad *bad)
{
  walk w;
  const uu_field *nf = null_field(c->v);
  int top = lua_gettop(L);
  extra = extra != 0 ? uu_absindex(L, extra) : 0;
  if (walk_init(&w, c, L, idx, body, bad) != 0)
    return lua_settop(L, top), -1;
  if (nf != NULL && w.given[nf - c->v->fields] != GIVEN_NO) {
    lua_pushvalue(L, w.slot[nf - c->v->fields]);
    if (scan_null_list(&w, nf) != 0)
      return lua_settop(L, top), -1;
    lua_pop(L, 1);
  }
  if (uu_buf_addc(body, '{') != 0)
    return out_of_memory(bad, "body");
  if (c->v->id_body != NULL && (write_key(&w, c->v->id_body) != 0 ||
                                uu_json_string(body, id, idlen) != UU_JOK))
    return out_of_memory(bad, "id");
  if (walk_fields(&w, nf) != 0 ||
      (extra != 0 && !lua_isnil(L, extra) && write_extra(&w, extra) != 0))
    return lua_settop(L, top), -1;
  lua_settop(L, top);                              /* the given values */
  *fields_end = body->n;
  if (c->body_tail.n > 0 &&
      ((!w.first && uu_buf_addc(body, ',') != 0) ||
       uu_buf_add(body, c->body_tail.p, c->body_tail.n) != 0))
    return out_of_memory(bad, "body");
  return uu_buf_addc(body, '}') == 0 ? 0 : out_of_memory(bad, "body");
}

int uu_marshal(uu_client *c, lua_State *L, int idx, const char *id,
               size_t idlen, uu_buf *body, size_t *fields_end, uu_bad *bad)
{
  return uu_marshal_x(c, L, idx, 0, id, idlen, body, fields_end, bad);
}

/* ---- ids ---------------------------------------------------------------- */

static int id_posint(lua_State *L, int idx, uu_buf *out, uu_bad *bad)
{
  char tmp[SHOWN_BUF];
  size_t n;
  const char *s;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    out->n = 0;
    if (write_int(L, idx, out, "id", bad) != 0)
      return -1;
    if (out->p[0] == '-' || strcmp(out->p, "0") == 0)
      return bad_at(bad, "id", "id: expected a positive integer, got %s",
                    out->p);
    return 0;
  }
  s = lua_tolstring(L, idx, &n);
  /* digits only, no leading zero, at most 2^63-1: compared as text, so
  ** no arithmetic can overflow on the way */
  if (n == 0 || n > 19 || strspn(s, "0123456789") != n || s[0] == '0' ||
      (n == 19 && strcmp(s, "9223372036854775807") > 0))
    return bad_at(bad, "id", "id: expected a positive integer, got %s",
                  shown(&(uu_field){"id", UU_STRING, 0, NULL, NULL, NULL},
                        s, n, tmp, sizeof tmp));
  out->n = 0;
  return uu_buf_add(out, s, n) == 0 ? 0 : out_of_memory(bad, "id");
}

/* 32 hex digits, or the same with dashes in the 8-4-4-4-12 places. */
static int is_guid(const char *s, size_t n)
{
  size_t i;
  if (n == 36)
    return is_uuid(s, n);
  if (n != 32)
    return 0;
  for (i = 0; i < 32; i++)
    if (!is_hex((unsigned char)s[i]))
      return 0;
  return 1;
}

/* The id at idx, checked against the vendor's id kind, as text in out. */
int uu_check_id(const uu_vendor *v, lua_State *L, int idx, uu_buf *out,
                uu_bad *bad)
{
  char tmp[SHOWN_BUF];
  size_t n;
  const char *s;
  uu_field idf = {"id", UU_STRING, 0, NULL, NULL, NULL};
  int t = lua_type(L, idx);
  bad->field[0] = bad->msg[0] = '\0';
  if (t != LUA_TNUMBER && t != LUA_TSTRING)
    return bad_at(bad, "id", "id: expected %s, got %s",
                  v->id == UU_ID_POSINT ? "a positive integer" : "a string",
                  luaL_typename(L, idx));
  if (v->id == UU_ID_POSINT)
    return id_posint(L, idx, out, bad);
  if (t != LUA_TSTRING)
    return bad_at(bad, "id", "id: expected a %s string, got a number",
                  v->id == UU_ID_UUID ? "UUID" : "GUID");
  s = lua_tolstring(L, idx, &n);
  if (v->id == UU_ID_UUID ? !is_uuid(s, n) : !is_guid(s, n))
    return bad_at(bad, "id", "id: %s is not a %s", shown(&idf, s, n, tmp,
                  sizeof tmp), v->id == UU_ID_UUID
                  ? "UUID (8-4-4-4-12 hex digits)"
                  : "GUID (32 hex digits, dashes optional)");
  out->n = 0;
  return uu_buf_add(out, s, n) == 0 ? 0 : out_of_memory(bad, "id");
}

/* RFC 3986 unreserved characters pass; everything else is %XX.  Ids and
** query values go through here, so "../x" can never change the path. */
int uu_percent_encode(uu_buf *b, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t i;
  unsigned char ch;
  char esc[3];
  if (uu_buf_reserve(b, n) != 0)
    return -1;
  for (i = 0; i < n; i++) {
    ch = (unsigned char)s[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
        ch == '~') {
      if (uu_buf_addc(b, (char)ch) != 0)
        return -1;
      continue;
    }
    esc[0] = '%', esc[1] = hex[ch >> 4], esc[2] = hex[ch & 15];
    if (uu_buf_add(b, esc, 3) != 0)
      return -1;
  }
  return 0;
}
