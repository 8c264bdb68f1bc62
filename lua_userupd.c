/*
** lua_userupd.c: luaopen_userupd, the Lua face of the module.  One
** constructor per vendor descriptor (so a new descriptor needs no code
** here), the generic userupd.new, the null sentinel, and a description of
** every vendor for tools such as bin/userupd.
*/
#include <stdio.h>
#include <string.h>
#include "userupd.h"
#include "journal/journal.h"
#include "base/hash.h"
#include "journal/idset.h"

void uu_journal_open_lua(lua_State *L);
void uu_term_open(lua_State *L);
void uu_private_open(lua_State *L);
void uu_sigterm_open(lua_State *L);
void uu_csv_open_lua(lua_State *L);
void uu_push_field_info(lua_State *L, const uu_vendor *v); /* describe.c */
void uu_push_error_kinds(lua_State *L);

/* userupd.<vendor>(opts): the descriptor is the closure's upvalue. */
static int l_vendor_new(lua_State *L)
{
  const uu_vendor *v = (const uu_vendor *)lua_touserdata(L,
                                                       lua_upvalueindex(1));
  return uu_client_new(L, v, 1);
}

/* Under lua_pcall: the vendor (light userdata) and its options. */
static int new_client(lua_State *L)
{
  return uu_client_new(L, (const uu_vendor *)lua_touserdata(L, 1), 2);
}

/* userupd.new(vendor, opts).  The constructor's errors name its options
** as "bad argument #1 to '<vendor>'" (they are userupd.<vendor>'s first
** argument); here they are new's second, and the message says so. */
static int l_new(lua_State *L)
{
  const char *name = luaL_checkstring(L, 1);
  const uu_vendor *v = uu_vendor_find(name);
  if (v == NULL)
    return luaL_argerror(L, 1, lua_pushfstring(L, "unknown vendor '%s'",
                                                name));
  lua_settop(L, 2);
  lua_pushcfunction(L, new_client);
  lua_pushlightuserdata(L, (void *)v);
  lua_pushvalue(L, 2);
  if (lua_pcall(L, 2, 1, 0) == 0)
    return 1;
  if (lua_type(L, -1) == LUA_TSTRING) {
    lua_pushfstring(L, "bad argument #1 to '%s' (", v->name);
    luaL_gsub(L, lua_tostring(L, -2), lua_tostring(L, -1),
              "bad argument #2 to 'new' (");
    luaL_gsub(L, lua_tostring(L, -1), "bad argument #2 to '?' (",
              "bad argument #2 to 'new' (");        /* a luaL_check* */
  }
  return lua_error(L);
}

static const char *optype_name(uu_optype t)
{
  return t == UU_OPT_INT ? "integer" : "string";
}

/* { secret, required, required_unless, type, choices } for option o of
** v: required_unless = "base_url" for an option the default host is made
** from ({subdomain}, {school}): required unless base_url replaces it (a
** vendor with a configure hook may choose another host by itself). */
static void push_option(lua_State *L, const uu_vendor *v, const uu_option *o)
{
  char slot[64];
  lua_createtable(L, 0, 5);
  lua_pushboolean(L, (o->flags & UU_OPT_SECRET) != 0);
  lua_setfield(L, -2, "secret");
  lua_pushboolean(L, (o->flags & UU_OPT_REQUIRED) != 0);
  lua_setfield(L, -2, "required");
  snprintf(slot, sizeof slot, "{%s}", o->name);
  if (!(o->flags & UU_OPT_REQUIRED) && v->configure == NULL &&
      v->base != NULL && strstr(v->base, slot) != NULL) {
    lua_pushliteral(L, "base_url");
    lua_setfield(L, -2, "required_unless");
  }
  lua_pushstring(L, optype_name(o->type));
  lua_setfield(L, -2, "type");
  if (o->choices) {
    lua_pushstring(L, o->choices);
    lua_setfield(L, -2, "choices");
  }
}

/* { options = { name = { secret, required, type, choices } }, id = ...,
**   fields = { "FirstName", ... } } for one vendor. */
static void push_vendor_info(lua_State *L, const uu_vendor *v)
{
  static const char *const idkinds[] = {"?", "integer", "uuid", "guid"};
  const uu_option *o;
  const uu_field *f;
  int i = 0;
  lua_createtable(L, 0, 4);
  lua_newtable(L);
  uu_push_common_options(L);
  for (o = v->options; o->name != NULL; o++) {
    push_option(L, v, o);
    lua_setfield(L, -2, o->name);
  }
  lua_setfield(L, -2, "options");
  lua_newtable(L);
  for (f = v->fields; f->name != NULL; f++) {
    lua_pushstring(L, f->name);
    lua_rawseti(L, -2, ++i);
  }
  lua_setfield(L, -2, "fields");
  lua_pushstring(L, idkinds[v->id]);
  lua_setfield(L, -2, "id");
  lua_pushnumber(L, v->rate);          /* the default pace, 0: none */
  lua_setfield(L, -2, "rate");
  uu_push_field_info(L, v);            /* field_info, null_list */
}

static void add_vendors(lua_State *L)
{
  const uu_vendor *const *v;
  lua_newtable(L);                                 /* module, vendors */
  for (v = uu_vendor_list(); *v != NULL; v++) {
    lua_pushlightuserdata(L, (void *)*v);
    lua_pushcclosure(L, l_vendor_new, 1);
    lua_setfield(L, -3, (*v)->name);
    push_vendor_info(L, *v);
    lua_setfield(L, -2, (*v)->name);
  }
  lua_setfield(L, -2, "vendors");
}

/* One client metatable with the C methods, and one for clients given a
** transport, whose update and get run the Lua loop (src/loops/driver.lua).
** Both serve every vendor.  Each file lists its own methods; this is the
** one place that knows them all (as luv's luv.c). */
static void new_client_mt(lua_State *L, const char *name, int lua_loop)
{
  luaL_newmetatable(L, name);
  uu_setfuncs(L, uu_client_meta, 0);
  lua_newtable(L);
  uu_setfuncs(L, uu_client_methods, 0);            /* client.c */
  uu_setfuncs(L, uu_many_methods, 0);              /* many_lua.c */
  uu_setfuncs(L, uu_async_methods, 0);             /* async.c */
  if (lua_loop) {
    uu_setfuncs(L, uu_driver_methods, 0);          /* driver.c */
    uu_driver_wrap(L);                             /* update, get */
  }
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "userupd.client");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

/* userupd.is_blank(v): nil, userupd.null, or a string of nothing but
** spaces, tabs and line breaks.  A map's test for "this cell says
** nothing", whatever --blank made of it (docs/cli.md). */
static int l_is_blank(lua_State *L)
{
  size_t n, i;
  const char *s;
  int t = lua_type(L, 1);
  if (t == LUA_TNONE || t == LUA_TNIL ||
      (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, 1) == NULL)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (t != LUA_TSTRING) {
    lua_pushboolean(L, 0);
    return 1;
  }
  s = lua_tolstring(L, 1, &n);
  for (i = 0; i < n && s[i] != '\0' && strchr(" \t\r\n\f\v", s[i]); i++)
    ;
  lua_pushboolean(L, i == n);
  return 1;
}

/* userupd.sha256(s): the SHA-256 of s as 64 lower-case hex digits (the
** CLI's account fingerprint is the start of one, docs/cli.md). */
static int l_sha256(lua_State *L)
{
  static const char hex[] = "0123456789abcdef";
  uu_sha256 c;
  unsigned char d[32];
  char out[64];
  size_t n;
  int i;
  const char *s = luaL_checklstring(L, 1, &n);
  uu_sha256_init(&c);
  uu_sha256_add(&c, s, n);
  uu_sha256_end(&c, d);
  for (i = 0; i < 32; i++) {
    out[2 * i] = hex[d[i] >> 4];
    out[2 * i + 1] = hex[d[i] & 15];
  }
  lua_pushlstring(L, out, sizeof out);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"new", l_new},
  {"is_blank", l_is_blank},
  {"sha256", l_sha256},
  {NULL, NULL}};

/* curl_global_init is not thread-safe before 7.84 and must run once per
** process; it is never undone from a Lua state's __gc (other states may
** still use curl). */
static void init_curl(lua_State *L)
{
  static int ready = 0;
  if (!ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      luaL_error(L, "userupd: curl_global_init failed");
    ready = 1;
  }
}

/* The one exported symbol; everything else is hidden by the build. */
#if defined(__GNUC__)
#define UU_EXPORT __attribute__((visibility("default")))
#else
#define UU_EXPORT
#endif
UU_EXPORT int luaopen_userupd(lua_State *L);
UU_EXPORT int luaopen_userupd(lua_State *L)
{
  init_curl(L);
  new_client_mt(L, UU_CLIENT_MT, 0);
  new_client_mt(L, UU_CLIENT_LUA_MT, 1);
  uu_error_open(L);
  uu_newlib(L, funcs);
  add_vendors(L);
  uu_push_error_kinds(L);                          /* error_kinds */
  lua_pushlightuserdata(L, NULL);                  /* == cjson.null */
  lua_setfield(L, -2, "null");
  lua_pushliteral(L, UU_VERSION);                  /* the rockspec's too */
  lua_setfield(L, -2, "_VERSION");
  lua_pushliteral(L, UU_VERSION);
  lua_setfield(L, -2, "version");
  uu_json_open(L);
  uu_term_open(L);                                 /* isatty, term_width */
  uu_private_open(L);                              /* create_private */
  uu_sigterm_open(L);                              /* catch_sigterm */
  uu_idset_open_lua(L);                            /* the CLI's duplicates */
  uu_csv_open_lua(L);                              /* userupd.csv's scanner */
  uu_journal_open_lua(L);
  uu_history_open_lua(L);                          /* journal methods */
  lua_getfield(L, -1, "journal");                  /* for client:failures */
  lua_setfield(L, LUA_REGISTRYINDEX, "userupd.journal.open");
  uu_setfuncs(L, uu_async_funcs, 0);               /* poll, pending */
  return 1;
}
