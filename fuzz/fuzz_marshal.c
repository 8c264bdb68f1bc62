/*
** fuzz_marshal: a random Lua table through the real module's prepare, for
** each of the five vendors.
**
** The module is linked in and opened with luaL_requiref; one client per
** vendor is made once with dummy credentials.  Each input then builds an
** id and a fields table from its bytes (a small generator, below): keys
** are the vendor's field names (its descriptor, what
** userupd.vendors[name].fields lists), the cross-vendor names, near
** misses and random strings; values are strings (invalid UTF-8, long,
** templates that pass a kind's check: UUIDs, dates, enum members),
** integers, floats (NaN, inf, -0, 2^63), booleans, userupd.null, nested
** objects and lists, tables shared or containing themselves, and values
** JSON cannot hold (functions, threads, light userdata).  The first byte
** picks the vendor.
**
** Contract checked for client:prepare(id, fields) under lua_pcall:
**   - it never raises (only out of memory would be allowed);
**   - it returns a request table whose body uu_json_decode accepts as an
**     object, whose method and url are strings; or nil and an error table
**     with kind "invalid", a non-empty field and a message;
**   - tostring of the request and of the error works and never shows a
**     credential of the client's.
*/
#include <math.h>
#include "fuzz_common.h"
#include "../src/userupd.h"

int luaopen_userupd(lua_State *L);

#define NVENDORS 5
#define MAX_DEPTH 6    /* nesting the generator builds */
#define MAX_ITEMS 8    /* entries per generated table */

static const char *const vendor_names[NVENDORS] = {
  "smartermeasure", "thoughtindustries", "blackbaud", "formsonfire",
  "questionpro"};

/* The credential of each client below (vendor order): its own may never
** show in tostring; the others are just data to it. */


static lua_State *L;
static int clients_ref;

static const char *const canon_names[] = {"first_name", "last_name", "email",
                                          "external_id"};

/* Strings that pass (or nearly pass) a kind's check. */
static const char *const templates[] = {
  "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b",
  "3F2B9C1E-8D4A-4E6F-9A1B-2C3D4E5F6A7B",
  "3f2b9c1e8d4a4e6f9a1b2c3d4e5f6a7b", "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7",
  "2024-02-29", "2023-02-29", "2026-12-31", "2026-13-01", "1999-01-01T00:00",
  "2026-06-09T20:47:42Z", "2026-06-09T20:47:42.123+05:30",
  "2026-06-09T20:47:42.+05:30", "2026-06-09T24:00:00Z", "0000-00-00",
  "M", "F", "Full", "Premium", "Standard", "Lite", "X",
  "1", "10000001", "9223372036854775807", "9223372036854775808",
  "0", "-1", "007", "1234567890123456789", "12345678901234567890",
  "", " ", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80",
  "\xed\xa0\x80", "\xc0\xaf", "\xff", "a\0b", "\"\\/\b\f\n\r\t\x01\x1f",
  "%2e%2e/x", "../../admin", "Ik-FF-7262", "Key-QP-1848"};
#define NTEMPLATES (sizeof templates / sizeof *templates)

/* Lengths of templates with an embedded NUL are fixed by hand. */
static void push_template(lua_State *S, unsigned k)
{
  const char *s = templates[k % NTEMPLATES];
  lua_pushlstring(S, s, strcmp(s, "a") == 0 ? 3 : strlen(s));
}

static void gen_value(fz_in *in, int depth, int pool);

/* A table of up to MAX_ITEMS entries: an object, a list, or odd keys. */
static void gen_table(fz_in *in, int depth, int pool, int shape)
{
  int i, n = fz_u8(in) % (MAX_ITEMS + 1), t;
  size_t len;
  const char *s;
  lua_createtable(L, 0, 0);
  t = lua_gettop(L);
  lua_pushvalue(L, t);                      /* into the pool before its */
  lua_rawseti(L, pool, (lua_Integer)lua_rawlen(L, pool) + 1);  /* items */
  for (i = 1; i <= n && in->n > 0; i++) {
    switch (shape) {
    case 0:                                 /* object */
      s = fz_bytes(in, fz_u8(in) % 12, &len);
      lua_pushlstring(L, s, len);
      break;
    case 1:                                 /* list */
      lua_pushinteger(L, i);
      break;
    default:                                /* odd keys */
      switch (fz_u8(in) % 6) {
      case 0: lua_pushinteger(L, (lua_Integer)(fz_u8(in) % 5)); break;
      case 1: lua_pushinteger(L, (lua_Integer)fz_u64(in)); break;
      case 2: lua_pushnumber(L, 1.5); break;
      case 3: lua_pushboolean(L, 1); break;
      case 4: lua_pushnumber(L, 2.0); break;
      default: lua_pushliteral(L, "k"); break;
      }
    }
    gen_value(in, depth + 1, pool);         /* t, key, value */
    lua_rawset(L, t);
  }
}

/* Pushes one value. */
static void gen_value(fz_in *in, int depth, int pool)
{
  static const double specials[] = {0.5, -0.0, 3.0, 9007199254740993.0,
                                    9223372036854775808.0,
                                    -9223372036854775808.0, 1e300, 1e-300};
  size_t len;
  const char *s;
  unsigned op = fz_u8(in) % 16;
  if (depth >= MAX_DEPTH && (op == 7 || op == 8 || op == 15))
    op = 0;
  switch (op) {
  case 0:
    s = fz_bytes(in, fz_u8(in) % 48, &len);
    lua_pushlstring(L, s, len);
    break;
  case 1: lua_pushinteger(L, (lua_Integer)fz_u64(in)); break;
  case 2: lua_pushinteger(L, (lua_Integer)(int8_t)fz_u8(in)); break;
  case 3: lua_pushnumber(L, fz_double(in)); break;
  case 4:
    switch (fz_u8(in) % 11) {
    case 0: lua_pushnumber(L, (double)NAN); break;
    case 1: lua_pushnumber(L, (double)INFINITY); break;
    case 2: lua_pushnumber(L, -(double)INFINITY); break;
    default: lua_pushnumber(L, specials[fz_u8(in) % 8]); break;
    }
    break;
  case 5: lua_pushboolean(L, fz_u8(in) & 1); break;
  case 6: lua_pushlightuserdata(L, NULL); break;   /* userupd.null */
  case 7: gen_table(in, depth, pool, 0); break;
  case 8: gen_table(in, depth, pool, 1); break;
  case 9: push_template(L, fz_u8(in)); break;
  case 10:                                         /* a table seen before */
    if (lua_rawlen(L, pool) > 0)
      lua_rawgeti(L, pool, 1 + (lua_Integer)(fz_u8(in) % lua_rawlen(L, pool)));
    else
      lua_newtable(L);
    break;
  case 11:                                         /* not JSON at all */
    switch (fz_u8(in) % 3) {
    case 0: lua_pushlightuserdata(L, (void *)&clients_ref); break;
    case 1: lua_pushcfunction(L, luaopen_userupd); break;
    default: lua_newthread(L); break;
    }
    break;
  case 12:
    lua_pushnumber(L, (double)(int16_t)fz_u16(in));
    break;
  case 13: {                                       /* long: max_string */
    luaL_Buffer b;
    char c = (char)fz_u8(in);
    size_t n = (size_t)fz_u16(in) * 2, i;
    luaL_buffinit(L, &b);
    for (i = 0; i < n; i++)
      luaL_addchar(&b, c);
    luaL_pushresult(&b);
    break;
  }
  case 14:                                         /* a field name as data */
    push_template(L, fz_u8(in));
    break;
  default: gen_table(in, depth, pool, 2); break;
  }
}

/* A value of the kind the field wants, so deep paths are reached. */
static void gen_typed(fz_in *in, const uu_vendor *v, const uu_field *f,
                      int pool)
{
  int i, n;
  switch (f->kind) {
  case UU_INT: lua_pushinteger(L, (lua_Integer)(int32_t)fz_u64(in)); break;
  case UU_NUMBER: lua_pushnumber(L, (double)(int32_t)fz_u64(in) / 8); break;
  case UU_BOOL: lua_pushboolean(L, fz_u8(in) & 1); break;
  case UU_ENUM: {
    const char *p = f->arg, *bar;
    for (i = fz_u8(in) % 4; i > 0 && (bar = strchr(p, '|')) != NULL; i--)
      p = bar + 1;
    bar = strchr(p, '|');
    lua_pushlstring(L, p, bar ? (size_t)(bar - p) : strlen(p));
    break;
  }
  case UU_DATE: push_template(L, 4 + fz_u8(in) % 10); break;
  case UU_UUID: push_template(L, fz_u8(in) % 4); break;
  case UU_STRING_LIST: case UU_UUID_LIST: case UU_NAME_LIST:
    n = fz_u8(in) % 4;
    lua_createtable(L, n, 0);
    for (i = 1; i <= n; i++) {
      if (f->kind == UU_NAME_LIST) {
        const uu_field *g = v->fields;
        int k = fz_u8(in) % 30;
        while (k-- > 0 && g[1].name != NULL)
          g++;
        lua_pushstring(L, g->name);
      } else if (f->kind == UU_UUID_LIST) {
        push_template(L, fz_u8(in) % 4);
      } else {
        gen_value(in, MAX_DEPTH, pool);
      }
      lua_rawseti(L, -2, i);
    }
    break;
  case UU_OBJECT: gen_table(in, 2, pool, 0); break;
  case UU_KV_LIST: gen_table(in, MAX_DEPTH - 1, pool, 0); break;
  default: gen_value(in, MAX_DEPTH, pool); break;
  }
}

/* The key of one entry of the fields table; returns its field or NULL. */
static const uu_field *gen_key(fz_in *in, const uu_vendor *v, int nfields)
{
  const uu_field *f;
  size_t len;
  const char *s;
  char near[64];
  switch (fz_u8(in) % 10) {
  case 6:
    lua_pushstring(L, canon_names[fz_u8(in) % 4]);
    return NULL;
  case 7:
    s = fz_bytes(in, fz_u8(in) % 40, &len);
    lua_pushlstring(L, s, len);
    return NULL;
  case 8:                                   /* a near miss: one byte off */
    f = &v->fields[fz_u8(in) % nfields];
    snprintf(near, sizeof near, "%s", f->name);
    near[fz_u8(in) % strlen(near)] ^= (char)(1 + fz_u8(in) % 31);
    lua_pushstring(L, near);
    return NULL;
  case 9:
    if (fz_u8(in) & 1)
      lua_pushinteger(L, 1 + fz_u8(in) % 3);
    else
      lua_pushboolean(L, 1);
    return NULL;
  default:
    f = &v->fields[fz_u8(in) % nfields];
    lua_pushstring(L, f->canon && (fz_u8(in) & 1) ? f->canon : f->name);
    return f;
  }
}

static void gen_fields(fz_in *in, const uu_vendor *v, int pool)
{
  int nfields = 0, n = fz_u8(in) % 16, i, t;
  const uu_field *f;
  while (v->fields[nfields].name != NULL)
    nfields++;
  lua_newtable(L);
  t = lua_gettop(L);
  for (i = 0; i < n && in->n > 0; i++) {
    f = gen_key(in, v, nfields);             /* t, key */
    if (f != NULL && (fz_u8(in) & 0x80))
      gen_typed(in, v, f, pool);
    else
      gen_value(in, 1, pool);                /* t, key, value */
    lua_rawset(L, t);
  }
}

static void gen_id(fz_in *in, int pool)
{
  char hex[33];
  int i;
  switch (fz_u8(in) % 7) {
  case 0: lua_pushinteger(L, (lua_Integer)fz_u64(in)); break;
  case 1: lua_pushinteger(L, 1 + fz_u16(in)); break;
  case 2: push_template(L, fz_u8(in)); break;
  case 3:
    for (i = 0; i < 32; i++)
      hex[i] = "0123456789abcdefABCDEF"[fz_u8(in) % 22];
    hex[32] = '\0';
    lua_pushstring(L, hex);
    break;
  case 4: push_template(L, fz_u8(in) % 4); break;
  case 5: lua_pushnumber(L, fz_double(in)); break;
  default: gen_value(in, MAX_DEPTH, pool); break;
  }
}

/* ---- checks ------------------------------------------------------------ */

/* tostring(v) under pcall: must work and show no credential. */
static int cur;                            /* this input's vendor */

static void check_tostring(int idx, const char *what, const char *known)
{
  const char *s;
  lua_getglobal(L, "tostring");
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK)
    fz_fail("tostring(%s) raised: %s", what, lua_tostring(L, -1));
  if ((s = lua_tostring(L, -1)) == NULL)
    fz_fail("tostring(%s) is not a string", what);
  if (fz_shows(s, secrets[cur]) && !(known != NULL && fz_known(known)))
    fz_fail("tostring(%s) shows the credential %s:\n%s", what, secrets[cur],
            s);
  lua_pop(L, 1);
}

static const char *field_string(int t, const char *k)
{
  const char *s;
  lua_getfield(L, t, k);
  s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);                            /* the table keeps it alive */
  return s;
}

static void check_request(int r)
{
  const char *body;
  size_t n;
  char msg[128];
  if (field_string(r, "method") == NULL || field_string(r, "url") == NULL)
    fz_fail("request without method or url");
  lua_getfield(L, r, "body");
  if (lua_type(L, -1) != LUA_TSTRING)
    fz_fail("request without a body");
  body = lua_tolstring(L, -1, &n);
  if (uu_json_decode(L, body, n, 64, msg, sizeof msg) != 0)
    fz_fail("prepare's body is not JSON (%s):\n%.*s", msg, (int)n, body);
  if (!lua_istable(L, -1))
    fz_fail("prepare's body is not an object:\n%.*s", (int)n, body);
  lua_pop(L, 2);
  check_tostring(r, "request", NULL);
}

static void check_error(int e)
{
  const char *kind, *field;
  if (!lua_istable(L, e))
    fz_fail("prepare returned nil and a %s", luaL_typename(L, e));
  kind = field_string(e, "kind");
  field = field_string(e, "field");
  if (kind == NULL || strcmp(kind, "invalid") != 0)
    fz_fail("prepare's error has kind %s, not invalid", kind ? kind : "nil");
  /* every invalid error names its field; "" is the name of an empty key */
  if (field == NULL)
    fz_fail("prepare's invalid error names no field (%s)",
            field_string(e, "message"));
  if (field_string(e, "message") == NULL)
    fz_fail("prepare's error has no message");
  /* known "invalid-echo": an invalid value is quoted unredacted */
  check_tostring(e, "error", "invalid-echo");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  L = fz_newstate(1);
  luaL_requiref(L, "userupd", luaopen_userupd, 1);
  lua_pop(L, 1);
  if (luaL_dostring(L, clients_chunk) != LUA_OK)
    fz_fail("cannot make the clients: %s", lua_tostring(L, -1));
  clients_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_in in = {data, size};
  int v = cur = fz_u8(&in) % NVENDORS, top = lua_gettop(L), pool, status,
      nres;
  const uu_vendor *vd = uu_vendor_find(vendor_names[v]);
  lua_newtable(L);                                 /* pool */
  pool = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, clients_ref);
  lua_rawgeti(L, -1, v + 1);                       /* pool, list, c */
  lua_getfield(L, -1, "prepare");
  lua_pushvalue(L, -2);                            /* ..., prepare, c */
  gen_id(&in, pool);                               /* ..., c, id */
  gen_fields(&in, vd, pool);                       /* ..., c, id, t */
  nres = lua_gettop(L) - 4;                        /* base of the call */
  status = lua_pcall(L, 3, LUA_MULTRET, 0);
  if (status == LUA_ERRMEM) {
    lua_settop(L, top);
    return 0;
  }
  if (status != LUA_OK)
    fz_fail("%s: prepare raised: %s", vendor_names[v],
            lua_tostring(L, -1) ? lua_tostring(L, -1) : "(no message)");
  nres = lua_gettop(L) - nres;
  if (nres == 1 && lua_istable(L, -1))
    check_request(lua_gettop(L));
  else if (nres == 2 && lua_isnil(L, -2))
    check_error(lua_gettop(L));
  else
    fz_fail("%s: prepare returned %d values (first a %s)", vendor_names[v],
            nres, luaL_typename(L, -nres));
  lua_settop(L, top);
  lua_gc(L, LUA_GCCOLLECT, 0);  /* free this input's tables now: LSan's
                                   per-input leak check stays quiet */
  return 0;
}
